/**
 * files/xfs images move between hosts by rsync (issue 19: the well-kept tool instead of a
 * hand-written stream), both ends here:
 *
 * - The client (the puller of a move, the source of a replica) runs `rsync` with `rsyncFlags` —
 *   a regular file only (no -r, -l, -D, -o, -g, -p), `--sparse --inplace --partial` so the
 *   catch-up is a delta pass written into the first copy (no second copy of the image),
 *   `--max-size` the largest state — over the same ssh as every fleet request (Transport: the
 *   pinned known_hosts, the transfer key, the fleet's ssh_config). `--trust-sender` is never
 *   given: rsync checks the file list the sender sends.
 * - The serving side is the one forced command, `vm-state fleet-serve`: a request that starts
 *   `rsync --server` is checked against what this host is doing (serve.ts) and handed to rrsync,
 *   rsync's own restricted-server script, confined to the ONE directory the transfer needs and
 *   read-only (`-ro`: a move's send) or write-only (`-wo -no-del -munge`: a replica's receive);
 *   rrsync then applies its option whitelist (`rrsyncFacts`).
 */
import { isAbsolute, resolve } from "path";
import { fail } from "../errors";
import { lstatOrNull } from "../root";
import { Run } from "../run";
import { largestImage, RsyncFile } from "../storage/fleet";
import { sanitise } from "../text";
import { childProcess, collect, Transport } from "./transport";

/**
 * What rrsync allows, read in rsync's support/rrsync at 3.5.0 (the version nixpkgs ships at the
 * pin, nixos/rules/runtime.json `rrsync`; Debian 12's rsync 3.5.0 here): our client sends the
 * short options `-ISze.<caps>` (--ignore-times, --sparse, --compress; `s` inside the `e.` caps
 * string is not --secluded-args) and the long `--inplace`, `--max-size=N` (to a receiver);
 * rrsync's `short_no_arg` holds I, S and z, its `long_opts` has `inplace: 0`, `partial: 0`,
 * `max-size: 1`, and it refuses `-ro` writes ("sending to read-only server is not allowed"),
 * `-wo` reads ("reading from write-only server is not allowed"), options it marks -1 (e.g.
 * `copy-devices`, `write-devices`, `daemon`: "option ... has been disabled on this server") and
 * `..` in a path.
 */
export const rrsyncFacts = {
    source: "RsyncProject/rsync support/rrsync (3.5.0; Debian /usr/bin/rrsync from rsync 3.5.0+ds1)",
    shortOptionsSent: "ISz",
    longOptionsSent: ["inplace", "max-size"],
    refusedExample: "--copy-devices",
} as const;

/** The client's flags: one regular file, sparse, in place, a delta even where size and time match. */
export const rsyncFlags: readonly string[] = [
    "--sparse",
    "--inplace",
    "--partial",
    "--ignore-times",
    "--compress",
    "--stats",
    "--info=skip1",
    `--max-size=${largestImage}`,
];

const rsyncFailed = 255;

/** rsync's -e value: the words of ssh's command line, quoted the way rsync splits them (main.c do_cmd: single quotes are literal). */
export function rshCommand(words: readonly string[]): string {
    return words
        .map((w) => {
            if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w)) {
                return w;
            }
            if (w.includes("'")) {
                throw fail(`cannot pass ${JSON.stringify(w)} to rsync's ssh command (a single quote)`);
            }
            return `'${w}'`;
        })
        .join(" ");
}

/** A number rsync's --stats prints ("Total bytes received: 8,439,501"); 0 when absent. */
export function rsyncStat(stats: string, name: string): number {
    const m = new RegExp(`^${name}: ([0-9,]+)`, "m").exec(stats);
    return m === null ? 0 : Number(m[1].replace(/,/g, ""));
}

/**
 * Copies FILE from HOST (`from`: a move's pull) or to HOST (`to`: a replica's push) with rsync;
 * the bytes that crossed the connection. What HOST (its fleet-serve, rrsync, its rsync) and the
 * local rsync said reaches the operator cleaned and prefixed with HOST's name. Test hook: with
 * VM_STATE_TEST_PHASE=PHASE the run waits there, rsync stopped, once the local file holds 1 MiB
 * (a pull) or rsync is done (a push).
 */
export async function rsyncCopy(
    transport: Transport,
    run: Run,
    name: string,
    file: RsyncFile,
    direction: "from" | "to",
    phase: string,
): Promise<number> {
    const local = isAbsolute(file.local) ? file.local : resolve(file.local);
    const remote = `${name}:${file.remote}`;
    const args = [
        ...rsyncFlags,
        "-e",
        rshCommand(transport.sshCommand(name)),
        "--",
        ...(direction === "from" ? [remote, local] : [local, remote]),
    ];
    const child = childProcess().spawn("rsync", args, {
        stdio: ["ignore", "pipe", "pipe"],
        env: run.childEnv,
        signal: run.signal,
    });
    const done = collect(child);
    if (run.env.testPhase?.name === phase) {
        let exited = false;
        void done.then(() => (exited = true));
        while (!exited && !(direction === "from" && (lstatOrNull(local)?.blocks ?? 0) * 512 >= 1024 * 1024)) {
            await Promise.race([done, new Promise((r) => setTimeout(r, 50))]);
        }
        if (!exited) {
            child.kill("SIGSTOP");
        }
        await run.phase(phase);
        if (!exited) {
            child.kill("SIGCONT");
        }
    }
    const { code, out, err } = await done;
    const said = sanitise(err)
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");
    if (code === rsyncFailed || (code === 0 && said.length > 0)) {
        transport.relay(name, err, code);
    } else if (code !== 0) {
        transport.relay(name, said.join("\n"), 0);
        // rrsync's refusal says most, else the last line that is not rsync's summary of the end.
        const summary = /^rsync error: |^rsync: connection unexpectedly closed|^rsync: \[[a-z]+\] write error/;
        const why = (
            said.find((l) => l.includes("rrsync error: ")) ??
            said.filter((l) => !summary.test(l)).pop() ??
            ""
        ).replace(/^vm-state: /, "");
        throw fail(
            `copying ${file.remote} ${direction} ${name} with rsync failed (rsync exit ${code})${why ? `: ${why}` : ""}`,
        );
    }
    if (/ is over max-size$/m.test(out)) {
        throw fail(`${name} sent an image larger than the largest state (${largestImage / 1024 ** 3} GiB): refused`);
    }
    return rsyncStat(out, direction === "from" ? "Total bytes received" : "Total bytes sent");
}

/** An rsync client's request as sshd passes it to the forced command: `rsync --server [--sender] OPTIONS . PATH`, plain words only. */
const requestPattern = /^rsync --server( -[A-Za-z0-9._=,+-]+)* \. [A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

export interface RsyncRequest {
    /** Every word up to and with the `.`. */
    readonly words: readonly string[];
    /** The one path the client named. */
    readonly path: string;
}

/** REQUEST as an rsync server request, or undefined when it is not one this server reads (any other shape, several paths, quoting). */
export function parseRsyncRequest(request: string): RsyncRequest | undefined {
    if (!requestPattern.test(request)) {
        return undefined;
    }
    const words = request.split(" ");
    const path = words.pop() as string;
    return { words, path };
}

/**
 * Hands the request to rrsync confined to DIR: read-only for a move's send (the path rewritten to
 * `data.img` in DIR), write-only (no deletes, links munged) for a replica's receive (the path
 * rewritten to DIR itself, `.`: rrsync pins an existing destination file to /proc/self/fd/N,
 * where rsync cannot update the seeded copy in place, so the file is named by the sender). rrsync
 * and the rsync it runs talk to the client on this process's stdin and stdout; their stderr is
 * the client's to show. Resolves when rsync is done; a refusal or a failed transfer throws.
 */
export async function handOver(run: Run, mode: "send" | "receive", dir: string, request: RsyncRequest): Promise<void> {
    const args = mode === "send" ? ["-ro", dir] : ["-wo", "-no-del", "-munge", dir];
    const child = childProcess().spawn("rrsync", args, {
        stdio: "inherit",
        env: {
            ...run.childEnv,
            SSH_ORIGINAL_COMMAND: [...request.words, mode === "send" ? "data.img" : "."].join(" "),
        },
        signal: run.signal,
    });
    const { code } = await collect(child, false);
    if (code !== 0) {
        throw fail(`rrsync ${args.join(" ")} ended with exit ${code}`);
    }
}
