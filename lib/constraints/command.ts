/**
 * What @pulumi/command (pulumi-command, a native provider) and the machines its commands run on
 * impose on the properties the program sets. Lines at `pulumi-command@v1.2.1` under
 * `provider/pkg/provider/`; the command-line limit is Linux's, the remote command is run by sshd.
 */
import { CodeSource, Constraint, entries, readsBackAsSent, Rule } from "./types";

const cmd = (file: string, line: number): CodeSource => ({
    rev: "pulumi-command@v1.2.1",
    path: `provider/pkg/provider/${file}`,
    line,
});
const argMax: CodeSource = { rev: "linux@2cc2c3cb", path: "include/uapi/linux/binfmts.h", line: 15 };
const sshdExec: CodeSource = { rev: "openssh@V_10_5_P1", path: "session.c", line: 1669 };

/** Linux's MAX_ARG_STRLEN with 4 KiB pages: the longest single argument execve takes. */
export const maxArgumentBytes = 131072;

const commandText = (how: string): Rule[] => [
    { kind: "length", min: 1, max: maxArgumentBytes, unit: "bytes" },
    { kind: "unconstrained", says: how },
];
/**
 * pulumi-command's resources live only in Pulumi's state: the provider registers them with infer.Resource and
 * implements no Read (no infer.CustomRead), so pulumi-go-provider's default Read returns the state and inputs as they are.
 */
const stateOnly = readsBackAsSent(
    "the engine's own state: no Read of its own, so infer's default Read returns the state and inputs unchanged",
    cmd("provider.go", 85),
    { rev: "pulumi-go-provider@v1.3.0", path: "infer/resource.go", line: 1355 },
);
const triggers: Rule[] = [
    { kind: "opaque", says: "any values; a change replaces the command (create runs again)" },
    { kind: "forcesReplacement" },
    stateOnly,
];
const logging = (file: string): Omit<Constraint, "type"> => ({
    property: "logging",
    rules: [{ kind: "enum", values: ["stdout", "stderr", "stdoutAndStderr", "none"] }],
    sources: [cmd(file, 12)],
});
const connection: Omit<Constraint, "type"> = {
    property: "connection",
    rules: [
        {
            kind: "secret",
            checkedBy:
                "components/deploy/connection.ts (hostConnection) and tests/unit/deploy.test.ts: host, port 22, user root, the pinned host key",
        },
    ],
    sources: [cmd("remote/command.go", 46), cmd("remote/connection.go", 44)],
    note: "the provider marks the whole connection secret; hostKey is parsed as an OpenSSH public key (connection.go:88)",
};

export const commandConstraints: Constraint[] = [
    ...entries("command:local:Command", [
        {
            property: "create",
            rules: commandText("run as the interpreter's last argument (bash -c)"),
            sources: [cmd("local/commandOutputs.go", 42), argMax],
        },
        {
            property: "update",
            rules: commandText("run instead of create when an input other than triggers changes"),
            sources: [cmd("local/commandController.go", 82), argMax],
        },
        {
            property: "interpreter[]",
            rules: [{ kind: "enum", values: ["bash", "-c"] }],
            sources: [cmd("local/base.go", 27)],
            note: "ours is exactly [bash, -c]",
        },
        { property: "triggers", rules: triggers, sources: [cmd("common/inputs.go", 10)] },
        {
            property: "stdin",
            rules: [
                {
                    kind: "secret",
                    checkedBy: "tests/ssh/reachable.test.ts (the private key reaches the script on stdin only)",
                },
            ],
            sources: [cmd("local/base.go", 25)],
        },
        {
            property: "environment{key}",
            rules: [{ kind: "pattern", regex: /^[A-Z_][A-Z0-9_]*$/, says: "an environment variable name" }],
            sources: [cmd("local/base.go", 29), cmd("local/commandOutputs.go", 82)],
        },
        {
            property: "environment{value}",
            rules: [{ kind: "pattern", regex: /^[^\0]*$/, says: "no NUL byte" }],
            sources: [cmd("local/commandOutputs.go", 84)],
        },
        logging("local/logging.go"),
        {
            property: "addPreviousOutputInEnv",
            rules: [{ kind: "enum", values: [true, false] }],
            sources: [cmd("local/base.go", 32), cmd("local/commandOutputs.go", 88)],
            note: "true (the default) puts the previous stdout in PULUMI_COMMAND_STDOUT for update and delete",
        },
    ]),
    ...entries("command:remote:Command", [
        connection,
        {
            property: "create",
            rules: commandText("sent to sshd, which runs it with the login shell's -c"),
            sources: [sshdExec, argMax],
        },
        {
            property: "update",
            rules: commandText("run instead of create when an input other than triggers changes"),
            sources: [cmd("remote/commandController.go", 77), sshdExec, argMax],
        },
        { property: "delete", rules: commandText("run when the resource is deleted"), sources: [sshdExec, argMax] },
        {
            property: "stdin",
            rules: [{ kind: "unconstrained", says: "piped to the command's standard input" }],
            sources: [cmd("remote/command.go", 44)],
        },
        { property: "triggers", rules: triggers, sources: [cmd("common/inputs.go", 10)] },
        logging("remote/logging.go"),
        {
            property: "addPreviousOutputInEnv",
            rules: [{ kind: "enum", values: [true, false] }],
            sources: [cmd("remote/command.go", 48)],
        },
    ]),
    ...entries("command:remote:CopyToRemote", [
        connection,
        {
            property: "remotePath",
            rules: [{ kind: "pattern", regex: /^\/[A-Za-z0-9._/-]+$/, says: "an absolute path of safe characters" }],
            sources: [cmd("remote/copy.go", 40), cmd("remote/copyController.go", 148)],
            note: "a change copies again (update), it does not replace",
        },
        {
            property: "source",
            rules: [{ kind: "opaque", says: "a file asset; its content hash decides whether update copies again" }],
            sources: [cmd("remote/copy.go", 39), cmd("remote/copyController.go", 148)],
        },
        { property: "triggers", rules: triggers, sources: [cmd("remote/copy.go", 38)] },
    ]),
];
