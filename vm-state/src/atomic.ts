/**
 * Files replaced atomically, so a crash or a full disk leaves the old content or the new, never
 * half of one: a new temporary file in the same directory (O_EXCL|O_NOFOLLOW: never an existing
 * name, never through a link), fsync, rename over the target, fsync of the directory.
 */
import { closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "fs";
import { dirname } from "path";
import { errnoCode } from "./text";

const createFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Six characters of [A-Za-z0-9], like mktemp's XXXXXX: O_EXCL makes the name unique, not the randomness. */
function suffix(): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return Array.from({ length: 6 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join("");
}

/** Creates a new file `<dir>/<base>.<XXXXXX>`, never an existing one; returns its path and fd. */
export function createTemp(dir: string, base: string, mode = 0o644): { path: string; fd: number } {
    for (let i = 0; ; i++) {
        const path = `${dir}/${base}.${suffix()}`;
        try {
            return { path, fd: openSync(path, createFlags, mode) };
        } catch (err) {
            if (errnoCode(err) !== "EEXIST" || i > 100) {
                throw err;
            }
        }
    }
}

export function fsyncDir(dir: string): void {
    const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
        fsyncSync(fd);
    } finally {
        closeSync(fd);
    }
}

/**
 * Replaces `target` (a path in `dir`) with `content`. The temporary file is `<dir>/<tempBase>.XXXXXX`
 * and is gone afterwards whatever failed; errors are thrown as the system reported them. Not
 * `durable`: the directory is not synced, so after a crash the file may be the old one (never a
 * half-written one); for records whose loss costs nothing but a stale figure.
 */
export function writeAtomic(
    dir: string,
    target: string,
    tempBase: string,
    content: string | Buffer,
    mode = 0o644,
    durable = true,
): void {
    const { path, fd } = createTemp(dir, tempBase, mode);
    let open = true;
    try {
        const data = typeof content === "string" ? Buffer.from(content, "utf8") : content;
        let done = 0;
        while (done < data.length) {
            done += writeSync(fd, data, done, data.length - done);
        }
        fsyncSync(fd);
        closeSync(fd);
        open = false;
        renameSync(path, target);
    } catch (err) {
        if (open) {
            try {
                closeSync(fd);
            } catch {
                // the write's error is the one to report
            }
        }
        try {
            unlinkSync(path);
        } catch {
            // already gone
        }
        throw err;
    }
    if (durable) {
        fsyncDir(dir);
    }
}

/** Removes a file and makes that durable; a missing file is fine. */
export function removeDurably(dir: string, target: string): void {
    try {
        unlinkSync(target);
    } catch (err) {
        if (errnoCode(err) === "ENOENT") {
            return;
        }
        throw err;
    }
    fsyncDir(dir);
}

/**
 * `mkdir -p` that reports the real reason: Node's recursive mkdir says ENOENT for a directory it
 * cannot make on a read-only filesystem (it stats the path after any unexpected error).
 */
export function makeDirs(path: string): void {
    try {
        mkdirSync(path);
    } catch (err) {
        const code = errnoCode(err);
        if (code === "EEXIST" && statSync(path).isDirectory()) {
            return;
        }
        if (code !== "ENOENT" || dirname(path) === path) {
            throw err;
        }
        makeDirs(dirname(path));
        mkdirSync(path);
    }
}
