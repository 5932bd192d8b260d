/**
 * vm-state's own stdout and stderr: write(2) on descriptors 1 and 2, without Node's
 * `process.stdout`/`process.stderr` streams. On Linux those streams write synchronously to files,
 * pipes and terminals alike (Node's `process` documentation, "A note on process I/O"), so the
 * bytes and their order are the same; building them costs every run a few milliseconds
 * (node:stream and its helpers are loaded for them), more than anything else vm-state does
 * before `list` prints.
 *
 * A reader that went away (EPIPE, `vm-state list | head -1`) ends vm-state with 141, quietly, as
 * SIGPIPE would end a shell command (Node ignores SIGPIPE); any other failure to write ends it
 * with 1, as the streams' error handler did. A pipe left non-blocking by whoever started vm-state
 * and full (EAGAIN) is waited for, a millisecond at a time, until the reader takes the rest (Node's
 * stream lost that rest when the process exited).
 */
import { fstatSync, Stats, statSync, writeSync } from "fs";
import { exitCodes } from "./errors";
import { errnoCode } from "./text";

export type Fd = 1 | 2;

const pause = new Int32Array(new SharedArrayBuffer(4));

export function writeFd(fd: Fd, text: string): void {
    const data = Buffer.from(text, "utf8");
    let done = 0;
    while (done < data.length) {
        try {
            done += writeSync(fd, data, done, data.length - done);
        } catch (err) {
            const code = errnoCode(err);
            if (code === "EAGAIN") {
                Atomics.wait(pause, 0, 0, 1); // a synchronous sleep: the write is synchronous too
                continue;
            }
            process.exit(code === "EPIPE" ? 141 : exitCodes.error);
        }
    }
}

/**
 * Whether descriptor 1 is a terminal (colour). node:tty would load the stream machinery that
 * writeFd avoids, so what stdout usually is gets answered by fstat: a file, a pipe or a socket is
 * no terminal, nor is /dev/null (the same device); another character device is asked to
 * tty.isatty.
 */
export function stdoutIsTerminal(): boolean {
    let stat: Stats;
    try {
        stat = fstatSync(1);
    } catch {
        return false; // closed: nothing to colour
    }
    if (!stat.isCharacterDevice()) {
        return false;
    }
    try {
        if (stat.rdev === statSync("/dev/null").rdev) {
            return false;
        }
    } catch {
        // no /dev/null to compare with: ask tty
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("tty") as typeof import("tty")).isatty(1);
}
