/**
 * The lock every change holds (docs/vm-state.md "Locking and crash safety"): flock(2) on the lock
 * file, as `exec 9>>lock; flock -w N 9` did. Node has no flock, so vm-state opens the file and
 * hands that open file to a short `flock(1)` child (its fd 3): the lock belongs to the shared open
 * file description, so it outlives the child and is held until vm-state closes the file or exits,
 * however it exits (a SIGKILL included). Tested in tests/unit/vm-state/lock.test.ts.
 *
 * That child is most of what a change costs beyond a read (docs/vm-state.md "Benchmark"): Node 22
 * and 24 have no flock(2), and the lock must stay flock's (operators and the tests hold it with
 * flock(1)), so it is kept as light as it can be: no pipe, stdout and stderr discarded. flock
 * says what happened in its exit status: 0 locked, 1 not within the wait (util-linux flock(1),
 * "--conflict-exit-code", default 1), anything else a failure, reported with that status.
 */
import { makeDirs } from "./atomic";
import { closeSync, constants, openSync, statSync } from "fs";
import { dirname } from "path";
import { exitCodes, fail, VmStateError } from "./errors";
import { Proc } from "./proc";
import { refuseLink } from "./root";
import { lastLine, systemMessage } from "./text";

const openFlags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

export class Lock {
    private constructor(
        readonly path: string,
        private fd: number | undefined,
    ) {}

    /**
     * Takes the lock at `path`, waiting up to `waitSeconds` (0: not at all), else busy (exit 3).
     * `root` is the directory vm-state owns (created if missing; named in link refusals).
     */
    static async acquire(proc: Proc, path: string, root: string, waitSeconds: number): Promise<Lock> {
        for (const dir of [root, dirname(path)]) {
            try {
                makeDirs(dir);
            } catch (err) {
                throw fail(`cannot create ${dir}: ${systemMessage(err)}`);
            }
        }
        refuseLink(path, root);
        let isDir = false;
        try {
            isDir = statSync(path).isDirectory();
        } catch {
            // absent: created below
        }
        if (isDir) {
            throw fail(`the lock ${path} is a directory; remove it (vm-state creates the lock file itself)`);
        }
        let fd: number;
        try {
            fd = openSync(path, openFlags, 0o644);
        } catch (err) {
            throw fail(`cannot open the lock ${path}: ${systemMessage(err)}`);
        }
        const lock = new Lock(path, fd);
        try {
            const wait = waitSeconds === 0 ? ["-n"] : ["-w", String(waitSeconds)];
            const r = await proc.exec("flock", [...wait, "3"], { stdout: "ignore", stderr: "ignore", extraFds: [fd] });
            if (r.code === 1) {
                throw new VmStateError(
                    exitCodes.busy,
                    `busy: another vm-state command holds ${path} (waited ${waitSeconds}s); try again later`,
                );
            }
            if (r.code !== 0) {
                throw fail(`cannot lock ${path}: ${lastLine(r.stderr) || `flock exited ${r.code}`}`);
            }
        } catch (err) {
            lock.release();
            throw err;
        }
        return lock;
    }

    /** Lets the next change run (closing the file releases the lock). */
    release(): void {
        if (this.fd !== undefined) {
            closeSync(this.fd);
            this.fd = undefined;
        }
    }
}
