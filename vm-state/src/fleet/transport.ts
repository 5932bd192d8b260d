/**
 * SSH to another host of the fleet, as root with the transfer key, its host key checked against
 * the pinned known_hosts, no agent, no password, no configuration but the fleet's ssh_config
 * (nixos/lib/fleet.nix writes both from infra.json's .fleet: each host by its name, its address
 * and its pinned host key; a `Host <name>` block may set e.g. a Port, the tests use that for
 * several sshd on 127.0.0.1). Always an argument array; the request is one word list the other
 * host's fleet-serve checks again.
 *
 * What the other host says on stderr reaches the operator only cleaned (text.ts `sanitise`) and
 * prefixed with its name ("vm-state: main: ..."), so it can neither move the cursor nor pass for
 * a line of this host's.
 */
import type { ChildProcess } from "child_process";
import type { Readable } from "stream";
import { accessSync, constants, statSync } from "fs";
import { exitCodes, fail, VmStateError } from "../errors";
import { Run } from "../run";
import { sanitise, shown } from "../text";
import { FleetConfig, FleetHost } from "./config";

export const fleetSshConfigDefault = "/etc/microvm-infra/fleet/ssh_config";
export const fleetKnownHostsDefault = "/etc/microvm-infra/fleet/known_hosts";

/** ssh's own exit status when it failed (could not connect, host key refused...). */
const sshFailed = 255;
/** What ssh says when the host answered with a key other than the pinned one. */
const hostKeyRefusals = [
    "Host key verification failed",
    "REMOTE HOST IDENTIFICATION HAS CHANGED",
    "host key for",
    "No ED25519 host key is known",
    "No RSA host key is known",
    "No ECDSA host key is known",
];

export function childProcess(): typeof import("child_process") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("child_process") as typeof import("child_process");
}

/** A stream's receiving end (zfs receive): a command that reads the stream on stdin. */
export interface Receiver {
    readonly cmd: string;
    readonly args: readonly string[];
}

export class Transport {
    readonly sshConfig: string;
    readonly knownHosts: string;

    constructor(
        private readonly run: Run,
        private readonly fleet: FleetConfig,
    ) {
        this.sshConfig = run.childEnv.VM_STATE_FLEET_SSH_CONFIG || fleetSshConfigDefault;
        this.knownHosts = run.childEnv.VM_STATE_FLEET_KNOWN_HOSTS || fleetKnownHostsDefault;
    }

    host(name: string): FleetHost {
        const h = this.fleet.hosts.find((x) => x.name === name);
        if (h === undefined) {
            throw new VmStateError(
                exitCodes.conflict,
                `unknown host ${shown(name)}: the fleet's hosts are ${this.fleet.hosts.map((x) => x.name).join(" ")}`,
            );
        }
        return h;
    }

    /** The ssh command line for HOST: `sshCommand` and the host. */
    sshArgs(name: string): string[] {
        return [...this.sshCommand(name).slice(1), "--", name];
    }

    /** `ssh` and its options for HOST, the host itself not yet named (rsync's -e adds it). */
    sshCommand(name: string): string[] {
        const key = this.fleet.transferKeyFile;
        try {
            accessSync(key, constants.R_OK);
            if (!statSync(key).isFile()) {
                throw new Error("not a file");
            }
        } catch {
            throw fail(`cannot read the fleet's transfer key ${shown(key)} (.fleet.transferKeyFile)`);
        }
        const h = this.host(name);
        // prettier-ignore
        return [
            "ssh", "-F", this.sshConfig, "-i", key, "-l", "root",
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", `UserKnownHostsFile=${this.knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=20", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4", "-o", "LogLevel=ERROR",
            "-o", `HostName=${h.address}`,
        ];
    }

    /**
     * Shows what HOST said on stderr as "HOST: ..." lines (cleaned, its own `vm-state: ` prefix
     * dropped); when CODE is not 0, throws with HOST's code for busy (3) and not found/conflict
     * (4), else 1, its last line as the reason.
     */
    relay(name: string, stderr: string, code: number): void {
        const lines = sanitise(stderr)
            .split("\n")
            .map((l) => l.trim().replace(/^vm-state: /, ""))
            .filter((l) => l !== "");
        const last = code !== 0 ? lines.pop() : undefined;
        for (const line of lines) {
            this.run.log(`${name}: ${line}`);
        }
        if (code === 0) {
            return;
        }
        const h = this.host(name);
        if (code === sshFailed) {
            if (hostKeyRefusals.some((r) => (last ?? "").includes(r) || lines.some((l) => l.includes(r)))) {
                throw fail(
                    `${name} (${h.address}) answered, but its SSH host key is not the one pinned in ${this.knownHosts}: ${last ?? "ssh refused it"}`,
                );
            }
            throw fail(`cannot reach ${name} (${h.address}) over SSH: ${last ?? "ssh failed"}`);
        }
        if (code === exitCodes.busy || code === exitCodes.conflict) {
            throw new VmStateError(code, `${name}: ${last ?? `exit ${code}`}`);
        }
        if (code === exitCodes.usage) {
            throw fail(`${name} refused the request: ${last ?? "exit 2"} (is the same vm-state installed there?)`);
        }
        throw fail(`${name}: ${last ?? `failed with exit ${code}`}`);
    }

    private spawn(cmd: string, args: readonly string[], stdio: ("ignore" | "pipe")[]): ChildProcess {
        return childProcess().spawn(cmd, [...args], { stdio, env: this.run.childEnv, signal: this.run.signal });
    }

    /** One request to HOST's fleet-serve; its stdout. */
    async call(name: string, request: string): Promise<string> {
        const { spawn } = childProcess();
        const child = spawn("ssh", [...this.sshArgs(name), request], {
            stdio: ["ignore", "pipe", "pipe"],
            env: this.run.childEnv,
            signal: this.run.signal,
        });
        const { code, out, err } = await collect(child);
        this.relay(name, err, code);
        return out;
    }

    /** A request whose answer is vm-state's JSON object. */
    async callJson(name: string, request: string): Promise<Record<string, unknown>> {
        const out = await this.call(name, request);
        try {
            const doc: unknown = JSON.parse(out);
            if (typeof doc === "object" && doc !== null && !Array.isArray(doc)) {
                return doc as Record<string, unknown>;
            }
        } catch {
            // said below
        }
        throw fail(
            `${name} answered ${shown(request)} with something that is not vm-state's JSON (is the same vm-state installed there?)`,
        );
    }

    /**
     * HOST's stream (the answer to REQUEST) into a local RECEIVER; the bytes passed. HOST's failure
     * is reported first (the receiver then only saw a cut stream).
     */
    async streamFrom(name: string, request: string, phase: string, receiver: Receiver): Promise<number> {
        const ssh = this.spawn("ssh", [...this.sshArgs(name), request], ["ignore", "pipe", "pipe"]);
        const recv = this.spawn(receiver.cmd, receiver.args, ["pipe", "ignore", "pipe"]);
        const [bytes, s, r] = await pump(this.run, ssh, recv, phase);
        this.relay(name, s.err, s.code);
        if (r.code !== 0) {
            throw fail(`receiving the stream from ${name} failed${lastSaid(r.err)}`);
        }
        return bytes;
    }
}

export interface Sender {
    readonly cmd: string;
    readonly args: readonly string[];
}

/** A local stream into HOST's operation (REQUEST); the bytes sent. HOST's failure is reported first. */
export async function streamTo(
    transport: Transport,
    run: Run,
    name: string,
    request: string,
    phase: string,
    sender: Sender,
): Promise<number> {
    const { spawn } = childProcess();
    const send = spawn(sender.cmd, [...sender.args], {
        stdio: ["ignore", "pipe", "pipe"],
        env: run.childEnv,
        signal: run.signal,
    });
    const ssh = spawn("ssh", [...transport.sshArgs(name), request], {
        stdio: ["pipe", "ignore", "pipe"],
        env: run.childEnv,
        signal: run.signal,
    });
    const [bytes, r, s] = await pump(run, send, ssh, phase);
    transport.relay(name, s.err, s.code);
    if (r.code !== 0) {
        throw fail(`sending the stream to ${name} failed${lastSaid(r.err)}`);
    }
    return bytes;
}

/** ": <the last line a command said>", cleaned, or "". */
function lastSaid(stderr: string): string {
    const why = sanitise(stderr)
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .pop();
    return why ? `: ${why}` : "";
}

type Ended = { code: number; out: string; err: string };

/**
 * SOURCE's stdout into SINK's stdin, both children; the bytes passed and how each ended. A sink
 * that exits early (it refused the stream) stops the source. Test hook: with
 * VM_STATE_TEST_PHASE=PHASE, the first MiB passes, then the run waits there.
 */
async function pump(
    run: Run,
    source: ChildProcess,
    sink: ChildProcess,
    phase: string,
): Promise<[number, Ended, Ended]> {
    const sourceDone = collect(source, false);
    const sinkDone = collect(sink, false);
    sink.stdin?.on("error", () => undefined);
    let sinkClosed = false;
    const sinkGone = sinkDone.then(() => {
        sinkClosed = true;
    });
    let bytes = 0;
    let paused = false;
    const hook = run.env.testPhase?.name === phase;
    for await (const chunk of source.stdout as Readable as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (!sink.stdin?.write(chunk)) {
            await Promise.race([new Promise((r) => sink.stdin?.once("drain", r)), sinkGone]);
        }
        if (sinkClosed) {
            source.kill("SIGTERM");
            break;
        }
        if (hook && !paused && bytes >= 1024 * 1024) {
            paused = true;
            await run.phase(phase);
        }
    }
    sink.stdin?.end();
    const [s, k] = await Promise.all([sourceDone, sinkDone]);
    return [bytes, s, k];
}

/** A child's exit status and output; stdout collected unless told not to. */
export function collect(child: ChildProcess, stdout = true): Promise<{ code: number; out: string; err: string }> {
    return new Promise((resolve) => {
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        if (stdout) {
            child.stdout?.on("data", (b: Buffer) => out.push(b));
        }
        child.stderr?.on("data", (b: Buffer) => err.push(b));
        child.on("error", (e) => err.push(Buffer.from(`${e.message}\n`)));
        child.on("close", (code, sig) => {
            resolve({
                code: code ?? (sig ? 128 + 15 : 1),
                out: Buffer.concat(out).toString("utf8"),
                err: Buffer.concat(err).toString("utf8"),
            });
        });
    });
}
