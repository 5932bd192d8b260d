/**
 * HostReachable's wait (components/deploy/local/wait-for-ssh.sh, which runs remote/host-key.sh on
 * the host) against a real sshd on 127.0.0.1: it waits while nothing answers; fails at once, saying
 * what to do, when the host key differs, the key is refused or the machine is another instance; a
 * new machine is met with the bootstrap key and then serves its own host key, made on the host
 * (sshd picks it up on SIGHUP, the fake systemctl sends it to this real sshd); the same machine is
 * met with the key it reported last time; a new machine over the tailnet is refused quickly with
 * the way to reach it. The script runs as Pulumi runs it: the command text from the program, through bash.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { scriptCommand } from "../../components/deploy/script";
import { hostKeyScript, waitForSshScript } from "../../components/deploy/reachable";
import { requireTools } from "../helpers/tools";
import { freePort, otherKnownHosts, SshHost, startHost, waitFor } from "./harness";

const gate = requireTools(["ssh", "ssh-keygen", "sshd"], "apt-get install openssh-server openssh-client");
jest.setTimeout(300000);

interface Result {
    code: number | null;
    stdout: string;
    stderr: string;
}

interface Wait {
    mode?: "new" | "same";
    bootstrap: string;
    instanceId: string;
    via?: "public" | "tailnet";
    timeoutSeconds: number;
    /** What the previous run printed (pulumi-command's PULUMI_COMMAND_STDOUT on update). */
    previous?: string;
}

function waitScript(
    port: number,
    w: Wait,
    privateKey: string,
    user: string,
    env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<Result> } {
    const args = [
        w.mode ?? "new",
        "127.0.0.1",
        String(port),
        String(w.timeoutSeconds),
        w.bootstrap,
        w.instanceId,
        "a1.metal",
        w.via ?? "public",
        readFileSync(hostKeyScript, "utf8"),
    ];
    const child = spawn("bash", ["-c", scriptCommand(waitForSshScript, args)], {
        env: {
            ...process.env,
            MICROVM_INFRA_SSH_USER: user,
            SSH_AUTH_SOCK: "",
            ...(w.previous !== undefined ? { PULUMI_COMMAND_STDOUT: w.previous } : {}),
            ...env,
        },
        stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin!.end(privateKey);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => {
        stdout += d;
    });
    child.stderr!.on("data", (d) => {
        stderr += d;
    });
    const done = new Promise<Result>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
    return { child, done };
}

/** A long wait: a test that expects an immediate failure would time out if the script waited instead. */
const patient = 900;
const bare = (line: string) => line.trim().split(/\s+/).slice(0, 2).join(" ");
const pubOf = (privateKeyFile: string) =>
    bare(execFileSync("ssh-keygen", ["-y", "-f", privateKeyFile], { encoding: "utf8" }));
const otherKey = (port: number) => readFileSync(otherKnownHosts(port), "utf8").trim().split(" ").slice(1).join(" ");

/** A known_hosts file pinning `key` for the test host. */
function knownHosts(port: number, key: string): string {
    const file = join(mkdtempSync(join(tmpdir(), "microvm-pin-")), "known_hosts");
    writeFileSync(file, `[127.0.0.1]:${port} ${key}\n`);
    return file;
}

gate.describe("reaching a new machine: its identity, then its own host key", () => {
    let host: SshHost;
    afterEach(async () => {
        await host?.stop();
    });
    const run = (w: Wait, env?: NodeJS.ProcessEnv) =>
        waitScript(host.port, w, readFileSync(host.clientKey, "utf8"), host.user, env).done;

    test("a new machine serving the bootstrap key: reached, then it makes its own key, which alone is served and printed", async () => {
        host = await startHost();
        const bootstrap = bare(host.hostPublicKey);
        const r = await run({ bootstrap, instanceId: host.instanceId, timeoutSeconds: patient });
        expect(r.stderr).toContain("answers with the pinned host key and accepts the key");
        expect(r.code).toBe(0);
        const own = r.stdout.trim();
        expect(own).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+$/);
        expect(own).not.toBe(bootstrap);
        // What sshd serves now: its key file is the new key, and only the new key is accepted.
        expect(pubOf(host.hostKeyFile)).toBe(own);
        expect((await host.run("true", "", { knownHosts: knownHosts(host.port, own) })).code).toBe(0);
        const old = await host.run("true", "", { knownHosts: knownHosts(host.port, bootstrap) });
        expect(old.code).not.toBe(0);
        expect(old.stderr).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
        // The bootstrap key is kept aside, root-only, for recovery (docs/aws.md, "Host keys").
        expect(pubOf(`${host.hostKeyFile}.bootstrap`)).toBe(bootstrap);
        expect(host.read("systemctl.log")).toContain("kill HUP sshd.service");
        // Nothing secret in the output: the private key never leaves the host.
        expect(r.stdout + r.stderr).not.toMatch(/PRIVATE KEY/);
    });

    test("the same machine later (an update): met with the key it printed, which it prints again; nothing made", async () => {
        host = await startHost();
        const bootstrap = bare(host.hostPublicKey);
        const first = await run({ bootstrap, instanceId: host.instanceId, timeoutSeconds: patient });
        expect(first.code).toBe(0);
        const log = host.read("systemctl.log");
        const again = await run({
            mode: "same",
            bootstrap,
            instanceId: host.instanceId,
            timeoutSeconds: patient,
            previous: first.stdout,
        });
        expect(again.code).toBe(0);
        expect(again.stdout).toBe(first.stdout);
        expect(host.read("systemctl.log")).toBe(log);
    });

    test("a stack deployed before hosts made their own keys (an update with no previous output): the bootstrap key, then its own", async () => {
        host = await startHost();
        const bootstrap = bare(host.hostPublicKey);
        const r = await run({
            mode: "same",
            bootstrap,
            instanceId: host.instanceId,
            timeoutSeconds: patient,
            previous: "",
        });
        expect(r.code).toBe(0);
        expect(r.stdout.trim()).not.toBe(bootstrap);
        expect(pubOf(host.hostKeyFile)).toBe(r.stdout.trim());
    });

    test("a machine that is another instance than expected fails at once, before anything is made on it", async () => {
        host = await startHost();
        const r = await run({
            bootstrap: bare(host.hostPublicKey),
            instanceId: "i-0fedcba9876543210",
            timeoutSeconds: patient,
        });
        expect(r.code).toBe(5);
        expect(r.stderr).toContain(
            `127.0.0.1:${host.port} is instance ${host.instanceId}, not i-0fedcba9876543210, the one this stack expects`,
        );
        expect(pubOf(host.hostKeyFile)).toBe(bare(host.hostPublicKey));
        expect(r.stdout).toBe("");
    });

    test("a new machine over the tailnet, answered by the old machine (its own key): refused at once, saying to reach it by its Elastic IP", async () => {
        host = await startHost();
        // The replaced machine already serves its own key; the new one would serve the bootstrap key.
        const r = await run({
            bootstrap: otherKey(host.port),
            instanceId: "i-0fedcba9876543210",
            via: "tailnet",
            timeoutSeconds: patient,
        });
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(
            "The tailnet name answers from another machine, most likely the one this update replaces",
        );
        expect(r.stderr).toContain('set host.connectVia (or hosts.<name>.connectVia) to "public"');
    });

    test("a new machine over the tailnet, answered by the old machine still on the bootstrap key: refused by its instance id", async () => {
        host = await startHost();
        const r = await run({
            bootstrap: bare(host.hostPublicKey),
            instanceId: "i-0fedcba9876543210",
            via: "tailnet",
            timeoutSeconds: patient,
        });
        expect(r.code).toBe(5);
        expect(r.stderr).toContain(
            "The tailnet name points at another machine, most likely the one this update replaces.",
        );
        expect(pubOf(host.hostKeyFile)).toBe(bare(host.hostPublicKey));
    });

    test("a new machine over the tailnet that nothing answers for: a short wait, not the first-boot wait, then the way to reach it", async () => {
        host = await startHost();
        const port = await freePort();
        const started = Date.now();
        const r = await waitScript(
            port,
            {
                bootstrap: bare(host.hostPublicKey),
                instanceId: host.instanceId,
                via: "tailnet",
                timeoutSeconds: patient,
            },
            readFileSync(host.clientKey, "utf8"),
            host.user,
            { MICROVM_INFRA_NEW_OVER_TAILNET_WAIT: "3" },
        ).done;
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`127.0.0.1:${port} did not answer SSH within 3s`);
        expect(r.stderr).toContain("is a new machine, reached by its tailnet name, which it cannot have yet");
        expect(r.stderr).toContain("Pulumi reaches a new machine by its Elastic IP");
        expect(Date.now() - started).toBeLessThan(patient * 1000);
    });
});

gate.describe("waiting for the host over SSH", () => {
    let host: SshHost;
    afterEach(async () => {
        await host?.stop();
    });

    test("a refused key fails at once, saying which key to use", async () => {
        host = await startHost();
        const other = await startHost(); // a key the first host does not know
        try {
            const r = await waitScript(
                host.port,
                { bootstrap: host.hostPublicKey, instanceId: host.instanceId, timeoutSeconds: patient },
                readFileSync(other.clientKey, "utf8"),
                host.user,
            ).done;
            expect(r.code).toBe(4);
            expect(r.stderr).toContain("is the right host but refused your SSH key");
            expect(r.stderr).toContain("pulumi config set --secret sshPrivateKey");
        } finally {
            await other.stop();
        }
    });

    test("another host key fails at once: never trusted, never retried", async () => {
        host = await startHost();
        const r = await waitScript(
            host.port,
            { bootstrap: otherKey(host.port), instanceId: host.instanceId, timeoutSeconds: patient },
            readFileSync(host.clientKey, "utf8"),
            host.user,
        ).done;
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(
            `answers with another SSH host key than the one expected for instance ${host.instanceId}`,
        );
    });

    test("the same machine with a key it never reported: another host key, at once", async () => {
        host = await startHost();
        const r = await waitScript(
            host.port,
            {
                mode: "same",
                bootstrap: host.hostPublicKey,
                instanceId: host.instanceId,
                timeoutSeconds: patient,
                previous: otherKey(host.port),
            },
            readFileSync(host.clientKey, "utf8"),
            host.user,
        ).done;
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("never bypass this with StrictHostKeyChecking=no");
    });

    test("a host still booting is waited for: ready once its sshd comes up", async () => {
        host = await startHost({ daemon: false });
        const wait = waitScript(
            host.port,
            { bootstrap: host.hostPublicKey, instanceId: host.instanceId, timeoutSeconds: patient },
            readFileSync(host.clientKey, "utf8"),
            host.user,
        );
        let stderr = "";
        wait.child.stderr!.on("data", (d) => {
            stderr += d;
        });
        await waitFor(() => stderr.includes("does not answer SSH yet"), 120000, "a first failed attempt");
        await host.startDaemon();
        const r = await wait.done;
        expect(r.code).toBe(0);
        expect(stderr).toContain("answers with the pinned host key and accepts the key");
    });

    test("a host that never answers: fails after the timeout with the last error", async () => {
        host = await startHost();
        const port = await freePort();
        const r = await waitScript(
            port,
            { bootstrap: host.hostPublicKey, instanceId: host.instanceId, timeoutSeconds: 3 },
            readFileSync(host.clientKey, "utf8"),
            host.user,
        ).done;
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`127.0.0.1:${port} did not answer SSH within 3s`);
        expect(r.stderr).toMatch(/Connection refused/);
        expect(r.stderr).toContain("A metal host takes 5 to 15 minutes to boot");
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
            const r = await waitScript(
                1,
                { bootstrap: "ssh-ed25519 AAAA", instanceId: "i-0123456789abcdef0", timeoutSeconds: 1 },
                "PRIVATE KEY",
                "nobody",
                { PATH: `${bin}:${process.env.PATH ?? ""}`, MICROVM_INFRA_SSH: join(bin, "no-ssh") },
            ).done;
            expect(r.stderr).toContain("cannot create a temporary directory for the SSH key");
            expect(r.code).toBe(1);
            expect(r.stderr).not.toContain("did not answer SSH");
            expect(readdirSync(would)).toEqual([]);
            expect(existsSync(join(would, "key"))).toBe(false);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
