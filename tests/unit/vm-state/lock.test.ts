/**
 * The lock: flock(2) held by the vm-state process through a short flock(1) child. Verified with
 * real processes: held while the holder lives, released when it is killed with SIGKILL.
 */
import { ChildProcess, spawn } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { readEnv } from "../../../vm-state/src/env";
import { Lock } from "../../../vm-state/src/lock";
import { Proc } from "../../../vm-state/src/proc";
import { Run } from "../../../vm-state/src/run";
import { requireTools } from "../../helpers/tools";

const gate = requireTools(["flock"], "apt-get install util-linux");

/** Another process that takes the lock through Lock.acquire (lock-holder.ts), once it says "held". */
function holder(lockPath: string): Promise<ChildProcess> {
    // One process (node with tsx's loader), so SIGKILL reaches the one that holds the lock.
    const child = spawn(process.execPath, ["--import", "tsx", resolve(__dirname, "lock-holder.ts"), lockPath], {
        stdio: ["ignore", "pipe", "inherit"],
        cwd: resolve(__dirname, "../../.."),
    });
    return new Promise((res, rej) => {
        child.stdout!.on("data", (d: Buffer) => (d.toString().includes("held") ? res(child) : undefined));
        child.on("exit", (code) => rej(new Error(`the holder exited ${code}`)));
    });
}

gate.describe("the lock", () => {
    let dir: string;
    const run = new Run(readEnv({}));
    const proc = new Proc(run);
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "vm-state-lock-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    test("a second taker is busy (exit 3) while the first holds it, and gets it once released", async () => {
        const path = join(dir, "root/.vm-state.lock");
        const first = await Lock.acquire(proc, path, join(dir, "root"), 0);
        await expect(Lock.acquire(proc, path, join(dir, "root"), 0)).rejects.toMatchObject({
            code: 3,
            message: `busy: another vm-state command holds ${path} (waited 0s); try again later`,
        });
        first.release();
        const second = await Lock.acquire(proc, path, join(dir, "root"), 0);
        second.release();
    });

    test("a holder killed with SIGKILL releases it (the lock belongs to its open file)", async () => {
        const path = join(dir, ".vm-state.lock");
        const child = await holder(path);
        await expect(Lock.acquire(proc, path, dir, 0)).rejects.toMatchObject({ code: 3 });
        const gone = new Promise((r) => child.on("exit", r));
        child.kill("SIGKILL");
        await gone;
        const lock = await Lock.acquire(proc, path, dir, 0);
        lock.release();
    });

    test("waits up to VM_STATE_LOCK_WAIT for the holder", async () => {
        const path = join(dir, ".vm-state.lock");
        const child = await holder(path);
        setTimeout(() => child.kill("SIGKILL"), 300);
        const lock = await Lock.acquire(proc, path, dir, 20);
        lock.release();
    });

    test("a lock that is a link or a directory is refused, and nothing is created through the link", async () => {
        symlinkSync(join(dir, "outside.lock"), join(dir, "link.lock"));
        await expect(Lock.acquire(proc, join(dir, "link.lock"), dir, 0)).rejects.toMatchObject({ code: 4 });
        expect(existsSync(join(dir, "outside.lock"))).toBe(false);
        mkdirSync(join(dir, "dir.lock"));
        await expect(Lock.acquire(proc, join(dir, "dir.lock"), dir, 0)).rejects.toMatchObject({
            code: 1,
            message: `the lock ${join(dir, "dir.lock")} is a directory; remove it (vm-state creates the lock file itself)`,
        });
    });
});
