/**
 * External commands (systemctl, ch-remote, zfs, mkfs.ext4, cp, journalctl): always an argument
 * array (never a shell), stdin closed unless asked for, stderr captured and sanitised before any
 * of it reaches a message. A signal to vm-state stops the command it waits for.
 */
import type { StdioOptions } from "child_process";
import { accessSync, constants, statSync } from "fs";
import { delimiter, join } from "path";
import { fail } from "./errors";
import { Run } from "./run";
import { lastLine, systemMessage, errnoCode } from "./text";

export interface Result {
    /** The exit status; 128 + N when killed by signal N; 127 when the command could not be run. */
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

export interface ExecOptions {
    /** Written to the command's stdin (otherwise stdin is /dev/null, or `stdin`). */
    readonly input?: string | Buffer;
    readonly stdin?: "ignore" | "inherit" | number;
    readonly stdout?: "pipe" | "ignore" | "inherit" | number;
    /** "ignore" only where the exit status says all (the lock's flock: a pipe costs milliseconds). */
    readonly stderr?: "pipe" | "inherit" | "ignore";
    /** Extra file descriptors for the child from fd 3 on (the lock hands flock its file this way). */
    readonly extraFds?: readonly number[];
}

/** child_process, loaded when first needed: most read-only runs start no command. */
function childProcess(): typeof import("child_process") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("child_process") as typeof import("child_process");
}

const signalNumbers: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 };

export class Proc {
    constructor(private readonly run: Run) {}

    /** Runs a command to its end. Rejects only when a signal stops vm-state meanwhile. */
    async exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<Result> {
        const { spawn } = childProcess();
        const signal = this.run.signal;
        return new Promise((resolve, reject) => {
            if (signal?.aborted) {
                reject(signal.reason);
                return;
            }
            const stdio: StdioOptions = [
                opts.input !== undefined ? "pipe" : (opts.stdin ?? "ignore"),
                opts.stdout ?? "pipe",
                opts.stderr ?? "pipe",
                ...(opts.extraFds ?? []),
            ];
            const child = spawn(cmd, [...args], { stdio, signal, env: this.run.childEnv });
            const out: Buffer[] = [];
            const err: Buffer[] = [];
            child.stdout?.on("data", (b: Buffer) => out.push(b));
            child.stderr?.on("data", (b: Buffer) => err.push(b));
            let spawnError: Error | undefined;
            child.on("error", (e) => {
                spawnError = e;
            });
            if (opts.input !== undefined) {
                child.stdin?.on("error", () => undefined); // a command that exits without reading
                child.stdin?.end(opts.input);
            }
            child.on("close", (code, sig) => {
                if (signal?.aborted) {
                    reject(signal.reason);
                    return;
                }
                if (spawnError && child.pid === undefined) {
                    const notFound = errnoCode(spawnError) === "ENOENT";
                    resolve({
                        code: notFound ? 127 : 126,
                        stdout: "",
                        stderr: `cannot run ${cmd}: ${systemMessage(spawnError)}`,
                    });
                    return;
                }
                resolve({
                    code: code ?? 128 + (sig ? (signalNumbers[sig] ?? 0) : 0),
                    stdout: Buffer.concat(out).toString("utf8"),
                    stderr: Buffer.concat(err).toString("utf8"),
                });
            });
        });
    }

    /** Whether the command exits 0 (its output is not needed). */
    async succeeds(cmd: string, args: readonly string[]): Promise<boolean> {
        return (await this.exec(cmd, args, { stdout: "ignore" })).code === 0;
    }

    /**
     * Runs a command that must succeed; otherwise fails (exit 1) with "WHAT failed: " and the last
     * line of what it said (e.g. "No space left on device"). Returns its stdout.
     */
    async attempt(what: string, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
        const r = await this.exec(cmd, args, opts);
        if (r.code !== 0) {
            throw fail(`${what} failed: ${lastLine(r.stderr) || `exit status ${r.code}`}`);
        }
        return r.stdout;
    }

    /**
     * `a | b`, both must succeed: fails naming WHAT and the last error line of either. The two
     * commands share an OS pipe (vm-state keeps no end of it), so when B exits early A gets
     * SIGPIPE, as in a shell.
     */
    async pipe(
        what: string,
        a: readonly [string, readonly string[]],
        b: readonly [string, readonly string[]],
    ): Promise<void> {
        const { spawn } = childProcess();
        const signal = this.run.signal;
        if (signal?.aborted) {
            throw signal.reason;
        }
        const result = await new Promise<{ codes: number[]; stderr: string[] }>((resolve, reject) => {
            const err: Buffer[][] = [[], []];
            const codes: number[] = [];
            let closed = 0;
            const done = (i: number) => (code: number | null, sig: NodeJS.Signals | null) => {
                codes[i] = code ?? 128 + (sig ? (signalNumbers[sig] ?? 0) : 0);
                if (++closed === 2) {
                    if (signal?.aborted) {
                        reject(signal.reason);
                    } else {
                        resolve({ codes, stderr: err.map((e) => Buffer.concat(e).toString("utf8")) });
                    }
                }
            };
            const env = this.run.childEnv;
            const left = spawn(a[0], [...a[1]], { stdio: ["ignore", "pipe", "pipe"], signal, env });
            const right = spawn(b[0], [...b[1]], { stdio: [left.stdout ?? "ignore", "ignore", "pipe"], signal, env });
            left.stdout?.destroy(); // the child has its own copy of the read end
            (
                [
                    [left, a[0]],
                    [right, b[0]],
                ] as const
            ).forEach(([child, cmd], i) => {
                child.stderr?.on("data", (x: Buffer) => err[i].push(x));
                child.on("error", (e) => err[i].push(Buffer.from(`cannot run ${cmd}: ${systemMessage(e)}\n`)));
            });
            left.on("close", done(0));
            right.on("close", done(1));
        });
        // The receiving end's reason first: when it fails, the sender only says its output went away.
        const failed = [1, 0].find((i) => result.codes[i] !== 0);
        if (failed !== undefined) {
            throw fail(`${what} failed: ${lastLine(result.stderr[failed]) || `exit status ${result.codes[failed]}`}`);
        }
    }
}

/** Where `command -v` would find CMD: a path that can be run, or undefined. */
export function which(cmd: string, path: string): string | undefined {
    const candidates = cmd.includes("/")
        ? [cmd]
        : path
              .split(delimiter)
              .filter((d) => d !== "")
              .map((d) => join(d, cmd));
    return candidates.find((c) => {
        try {
            accessSync(c, constants.X_OK);
            return statSync(c).isFile();
        } catch {
            return false;
        }
    });
}
