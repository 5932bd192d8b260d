/**
 * A real sshd for the tests: Debian's openssh-server on 127.0.0.1 and a free port, with its own
 * host key and an authorized key made for the test, and a temporary "host root" that the remote
 * scripts use instead of /var/lib/... (through the environment overrides of
 * components/deploy/remoteScripts.ts, set by the server's `SetEnv`). The client is OpenSSH with
 * `StrictHostKeyChecking=yes` and a known_hosts holding only the test host key.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { createServer } from "net";
import { tmpdir, userInfo } from "os";
import { dirname, join } from "path";
import { repoRoot } from "../helpers/paths";
import { findTool } from "../helpers/tools";

export const fakes = join(__dirname, "fakes");
/** sshd as the tests' tool gate finds it (it must be started by its absolute path). */
const sshd = findTool("sshd") ?? "sshd";

export const requiredTools = [
    "ssh",
    "ssh-keygen",
    "setsid",
    "flock",
    "jq",
    "base64",
    "tar",
    "sha256sum",
    "mkfs.ext4",
    "e2label",
    "truncate",
];

export function freePort(): Promise<number> {
    return new Promise((res, rej) => {
        const srv = createServer();
        srv.on("error", rej);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as { port: number }).port;
            srv.close(() => res(port));
        });
    });
}

export interface RunResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

export interface SshHost {
    /** The temporary host root: state/, microvms/, units/, control/, logs of the fakes. */
    readonly root: string;
    readonly port: number;
    /** The test host's public key line (what Pulumi would pin). */
    readonly hostPublicKey: string;
    /** The EC2 instance id the host says it is (components/deploy/remote/host-key.sh identity). */
    readonly instanceId: string;
    /** The host's own ED25519 host key file (sshd's HostKey; host-key.sh rotate replaces it). */
    readonly hostKeyFile: string;
    /** The client's private key file (accepted by the host) and the user it logs in as. */
    readonly clientKey: string;
    readonly user: string;
    /** Runs `command` on the host as Pulumi's provider does (one command string, stdin piped). */
    run(
        command: string,
        stdin?: string | Buffer,
        opts?: { knownHosts?: string; timeoutMs?: number },
    ): Promise<RunResult>;
    /** Starts `command` and returns the ssh client process (to kill it mid-way). */
    start(command: string, stdin?: string | Buffer): ChildProcess;
    /** Writes a control file for the fakes (`rebuild`: ok, fail-build, fail-activate, unhealthy, hang). */
    control(name: string, content: string): void;
    read(path: string): string;
    exists(path: string): boolean;
    /** Starts sshd (after `startHost({ daemon: false })`) and waits until it accepts a login. */
    startDaemon(): Promise<void>;
    stop(): Promise<void>;
}

/** Polls until `check` is true; `ms` only bounds a hang (readiness, not a fixed wait). */
export async function waitFor(check: () => boolean, ms = 120000, what = "condition"): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
        if (Date.now() > end) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** `port`: a chosen port; `daemon: false`: keys and config only, sshd started later by `startDaemon`. */
export async function startHost(opts: { port?: number; daemon?: boolean } = {}): Promise<SshHost> {
    const dir = mkdtempSync(join(tmpdir(), "microvm-ssh-"));
    const root = join(dir, "host");
    for (const sub of ["state", "microvms", "units", "control", "profiles", "store"]) {
        mkdirSync(join(root, sub), { recursive: true });
    }
    const keygen = (file: string) =>
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "microvm-infra-test", "-f", file]);
    keygen(join(dir, "host_key"));
    keygen(join(dir, "client_key"));
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
    chmodSync(join(dir, "authorized_keys"), 0o600);
    const hostPublicKey = readFileSync(join(dir, "host_key.pub"), "utf8").trim();
    const port = opts.port ?? (await freePort());
    writeFileSync(join(dir, "known_hosts"), `[127.0.0.1]:${port} ${hostPublicKey}\n`);

    const env: Record<string, string> = {
        FAKE_ROOT: root,
        MICROVM_INFRA_STATE_DIR: join(root, "state"),
        MICROVM_INFRA_DETACH: "setsid",
        MICROVM_INFRA_NIXOS_REBUILD: join(fakes, "nixos-rebuild"),
        MICROVM_INFRA_NIX: join(fakes, "nix"),
        MICROVM_INFRA_SYSTEMCTL: join(repoRoot, "tests/fakes/systemctl"),
        MICROVM_INFRA_SYSTEM_PROFILE: join(root, "profiles/system"),
        MICROVM_INFRA_CURRENT_SYSTEM: join(root, "current-system"),
        MICROVM_INFRA_VM_STATE: join(repoRoot, "scripts/vm-state"),
        // scripts/vm-state runs its build with the `node` on PATH: the Node running these tests, as
        // the host's package runs it with nixpkgs' Node (sshd's own PATH may hold another or none).
        PATH: [
            dirname(process.execPath),
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ].join(":"),
        MICROVM_INFRA_PROBE: join(fakes, "probe"),
        ACCEPTANCE_SLOT_PROBE: join(fakes, "slot-probe"),
        MICROVM_INFRA_POLL: "0.1",
        MICROVM_INFRA_HEALTH_TIMEOUT: "2",
        MICROVM_INFRA_SLOT_TIMEOUT: "2",
        VM_STATE_ROOT: join(root, "microvms"),
        VM_STATE_CONFIG: join(root, "infra.json"),
        VM_STATE_SYSTEMCTL: join(repoRoot, "tests/fakes/systemctl"),
        VM_STATE_START_TIMEOUT: "2",
        VM_STATE_LOCK_WAIT: "20",
        // components/deploy/remote/host-key.sh: the host key sshd serves, the instance id, SIGHUP to this sshd.
        MICROVM_INFRA_SSH_HOST_KEY: join(dir, "host_key"),
        MICROVM_INFRA_INSTANCE_ID_FILE: join(root, "instance-id"),
        FAKE_SSHD_PIDFILE: join(dir, "sshd.pid"),
    };
    const instanceId = "i-0123456789abcdef0";
    writeFileSync(join(root, "instance-id"), `${instanceId}\n`);
    writeFileSync(
        join(dir, "sshd_config"),
        [
            `Port ${port}`,
            "ListenAddress 127.0.0.1",
            `HostKey ${join(dir, "host_key")}`,
            `PidFile ${join(dir, "sshd.pid")}`,
            `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "LogLevel ERROR",
            `SetEnv ${Object.entries(env)
                .map(([k, v]) => `${k}=${v}`)
                .join(" ")}`,
            "",
        ].join("\n"),
    );
    if (process.getuid?.() === 0) {
        mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    }
    let daemon: ChildProcess;
    let daemonErr = "";
    const spawnDaemon = () => {
        daemon = spawn(sshd, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
        daemon.stderr!.on("data", (d) => {
            daemonErr += d;
        });
    };
    const killDaemon = async () => {
        daemon.kill("SIGTERM");
        await new Promise((r) =>
            daemon.exitCode !== null || daemon.signalCode !== null ? r(undefined) : daemon.on("exit", r),
        );
    };
    const user = userInfo().username;

    const sshArgs = (knownHosts: string, command: string) => [
        "-p",
        String(port),
        "-i",
        join(dir, "client_key"),
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "ConnectTimeout=10",
        "-F",
        "/dev/null",
        `${user}@127.0.0.1`,
        command,
    ];
    const start = (command: string, stdin?: string | Buffer, knownHosts = join(dir, "known_hosts")): ChildProcess => {
        const child = spawn("ssh", sshArgs(knownHosts, command), { stdio: ["pipe", "pipe", "pipe"] });
        child.stdin!.on("error", () => undefined);
        child.stdin!.end(stdin ?? "");
        return child;
    };
    const run = (
        command: string,
        stdin?: string | Buffer,
        opts: { knownHosts?: string; timeoutMs?: number } = {},
    ): Promise<RunResult> =>
        new Promise((res) => {
            const child = start(command, stdin, opts.knownHosts);
            let stdout = "";
            let stderr = "";
            child.stdout!.on("data", (d) => {
                stdout += d;
            });
            child.stderr!.on("data", (d) => {
                stderr += d;
            });
            // Only a bound against a hang: on a busy machine a deploy takes what it takes.
            const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 300000);
            child.on("close", (code) => {
                clearTimeout(timer);
                res({ code, stdout, stderr });
            });
        });

    // Starts sshd and waits until it accepts a login (bounded only against a hang: a busy machine may be slow).
    const startDaemon = async () => {
        spawnDaemon();
        const end = Date.now() + 120000;
        for (;;) {
            const r = await run("true", "", { timeoutMs: 30000 });
            if (r.code === 0) {
                return;
            }
            if (Date.now() > end || daemon.exitCode !== null) {
                daemon.kill();
                throw new Error(`test sshd did not accept a login: ${r.stderr} ${daemonErr}`);
            }
            await new Promise((r2) => setTimeout(r2, 100));
        }
    };
    if (opts.daemon !== false) {
        await startDaemon();
    }

    return {
        root,
        port,
        hostPublicKey,
        instanceId,
        hostKeyFile: join(dir, "host_key"),
        clientKey: join(dir, "client_key"),
        user,
        run,
        start: (command, stdin) => start(command, stdin),
        control: (name, content) => writeFileSync(join(root, "control", name), content),
        read: (path) => readFileSync(join(root, path), "utf8"),
        exists: (path) => existsSync(join(root, path)),
        startDaemon,
        stop: async () => {
            writeFileSync(join(root, "control", "release"), "");
            if (daemon) {
                await killDaemon();
            }
            // Detached switch jobs hold their lock until they finish: wait for each, then clean up.
            const switches = join(root, "state/switches");
            for (const run of existsSync(switches) ? readdirSync(switches) : []) {
                if (existsSync(join(switches, run, "lock"))) {
                    spawnSync("flock", ["-w", "120", join(switches, run, "lock"), "true"]);
                }
            }
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** A known_hosts file that pins a different key for the test host (what a spoofed host looks like). */
export function otherKnownHosts(port: number): string {
    const dir = mkdtempSync(join(tmpdir(), "microvm-ssh-other-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "other", "-f", join(dir, "key")]);
    const file = join(dir, "known_hosts");
    writeFileSync(file, `[127.0.0.1]:${port} ${readFileSync(join(dir, "key.pub"), "utf8").trim()}\n`);
    return file;
}
