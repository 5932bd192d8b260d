/**
 * One transfer per state and direction at a time: `.vm-state-fleet/locks/<kind>-<state>.lock`,
 * flock'd like the main lock (lock.ts) and held until the command exits. It waits
 * VM_STATE_LOCK_WAIT seconds (the other end of a transfer that was cut may take a moment to
 * notice), or with `now` not at all (a command's own transfer in flight here), then exits 3
 * naming the transfer.
 */
import { exitCodes, VmStateError } from "../errors";
import { fleetDirName, Layout } from "../layout";
import { Lock } from "../lock";
import { Proc } from "../proc";
import { Run } from "../run";
import { FleetRecords } from "./records";

export type TransferKind = "in" | "out" | "replicate" | "replica";

export async function fleetLock(
    run: Run,
    proc: Proc,
    layout: Layout,
    kind: TransferKind,
    state: string,
    what: string,
    now = false,
): Promise<Lock> {
    new FleetRecords(layout).ready();
    const path = layout.root.path([fleetDirName, "locks", `${kind}-${state}.lock`]);
    const wait = now ? 0 : run.env.lockWait;
    try {
        const lock = await Lock.acquire(proc, path, layout.rootDir, wait);
        run.atEnd(() => lock.release());
        return lock;
    } catch (err) {
        if (err instanceof VmStateError && err.code === exitCodes.busy) {
            const how = wait === 0 ? `another vm-state command holds ${path}` : `waited ${wait}s for ${path}`;
            throw new VmStateError(exitCodes.busy, `busy: ${what} is in flight (${how})`);
        }
        throw err;
    }
}
