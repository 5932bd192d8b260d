/**
 * HostReachable's wait (components/deploy/local/wait-for-ssh.sh) against a real sshd on
 * 127.0.0.1: it waits while nothing answers, and fails at once, saying what to do, when the host
 * key differs or the key is refused (the remote commands would otherwise redial those as dial
 * errors). The script runs as Pulumi runs it: the command text from the program, through bash.
 */
import { ChildProcess, spawn } from "child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { scriptCommand } from "../../components/deploy/script";
import { waitForSshScript } from "../../components/deploy/reachable";
import { requireTools } from "../helpers/tools";
import { freePort, otherKnownHosts, SshHost, startHost, waitFor } from "./harness";

const gate = requireTools(["ssh", "ssh-keygen", "sshd"], "apt-get install openssh-server openssh-client");
jest.setTimeout(300000);

interface Result { code: number | null; stderr: string }

function waitScript(port: number, hostKey: string, timeoutSeconds: number, privateKey: string, user: string,
    env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Result> } {
    const child = spawn("bash", ["-c", scriptCommand(waitForSshScript, ["127.0.0.1", String(port), String(timeoutSeconds), hostKey])], {
        env: { ...process.env, MICROVM_INFRA_SSH_USER: user, SSH_AUTH_SOCK: "", ...env },
        stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin!.end(privateKey);
    let stderr = "";
    child.stderr!.on("data", (d) => { stderr += d; });
    const done = new Promise<Result>((resolve) => child.on("close", (code) => resolve({ code, stderr })));
    return { child, done };
}

/** A long wait: a test that expects an immediate failure would time out if the script waited instead. */
const patient = 900;

gate.describe("waiting for the host over SSH", () => {
    let host: SshHost;
    afterEach(async () => {
        await host?.stop();
    });

    test("a host that answers with the pinned key and accepts the key: ready", async () => {
        host = await startHost();
        const r = await waitScript(host.port, host.hostPublicKey, patient, readFileSync(host.clientKey, "utf8"), host.user).done;
        expect(r.stderr).toContain("answers with the pinned host key and accepts the key");
        expect(r.code).toBe(0);
    });

    test("a refused key fails at once, saying which key to use", async () => {
        host = await startHost();
        const other = await startHost(); // a key the first host does not know
        try {
            const r = await waitScript(host.port, host.hostPublicKey, patient, readFileSync(other.clientKey, "utf8"), host.user).done;
            expect(r.code).toBe(4);
            expect(r.stderr).toContain("is the right host but refused your SSH key");
            expect(r.stderr).toContain("pulumi config set --secret sshPrivateKey");
        } finally {
            await other.stop();
        }
    });

    test("another host key fails at once: never trusted, never retried", async () => {
        host = await startHost();
        const wrongKey = readFileSync(otherKnownHosts(host.port), "utf8").trim().split(" ").slice(1).join(" ");
        const r = await waitScript(host.port, wrongKey, patient, readFileSync(host.clientKey, "utf8"), host.user).done;
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("answers with another SSH host key than the one this stack generated");
    });

    test("a host still booting is waited for: ready once its sshd comes up", async () => {
        host = await startHost({ daemon: false });
        const wait = waitScript(host.port, host.hostPublicKey, patient, readFileSync(host.clientKey, "utf8"), host.user);
        let stderr = "";
        wait.child.stderr!.on("data", (d) => { stderr += d; });
        await waitFor(() => stderr.includes("does not answer SSH yet"), 120000, "a first failed attempt");
        await host.startDaemon();
        const r = await wait.done;
        expect(r.code).toBe(0);
        expect(stderr).toContain("answers with the pinned host key and accepts the key");
    });

    test("a host that never answers: fails after the timeout with the last error", async () => {
        host = await startHost();
        const port = await freePort();
        const r = await waitScript(port, host.hostPublicKey, 3, readFileSync(host.clientKey, "utf8"), host.user).done;
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`127.0.0.1:${port} did not answer SSH within 3s`);
        expect(r.stderr).toMatch(/Connection refused/);
    });
});

describe("waiting for the host: no temporary directory for the key", () => {
    test("a failed mktemp stops the script at once, and the key is written nowhere", async () => {
        // A mktemp that fails yet prints a directory: the key must not land there (nor, when a
        // failed mktemp prints nothing, at /key), and no SSH is attempted.
        const dir = mkdtempSync(join(tmpdir(), "wait-for-ssh-"));
        try {
            const bin = join(dir, "bin");
            const would = join(dir, "would-be-work");
            mkdirSync(bin);
            mkdirSync(would);
            writeFileSync(join(bin, "mktemp"), `#!/bin/sh\necho '${would}'\nexit 1\n`);
            chmodSync(join(bin, "mktemp"), 0o755);
            const r = await waitScript(1, "ssh-ed25519 AAAA", 1, "PRIVATE KEY", "nobody",
                { PATH: `${bin}:${process.env.PATH ?? ""}`, MICROVM_INFRA_SSH: join(bin, "no-ssh") }).done;
            expect(r.stderr).toContain("cannot create a temporary directory for the SSH key");
            expect(r.code).toBe(1);
            expect(r.stderr).not.toContain("did not answer SSH");
            expect(readdirSync(would)).toEqual([]);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
