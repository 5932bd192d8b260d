/**
 * Safety snapshots: the snapshot `assign`, `apply` (and recovery) take of the state a slot leaves,
 * named `pre-<why>-YYYYMMDD-HHMMSS` (UTC, `-2`, `-3`... when taken), and their pruning after each
 * successful switch by the one retention rule (retention.ts): each state keeps its newest `keep`,
 * of those only the ones younger than `maxAgeDays`, always its newest; never one that something
 * depends on (a zfs clone). Users' snapshots are never pruned.
 */
import { HostConfig } from "./config";
import { retain } from "./retention";
import { Run } from "./run";
import { StorageDriver } from "./storage/driver";
import { nowSeconds, utcStamp } from "./time";

export type SafetyReason = "assign" | "apply" | "adopt" | "recover";
export const safetySnapshotPattern = /^pre-(assign|apply|adopt|recover)-[0-9]{8}-[0-9]{6}(-[0-9]+)?$/;

/** The first of BASE, BASE-2, BASE-3... for which `taken` says no. */
export async function freeName(base: string, taken: (name: string) => Promise<boolean>): Promise<string> {
    let name = base;
    for (let n = 2; await taken(name); n++) {
        name = `${base}-${n}`;
    }
    return name;
}

export async function takeSafetySnapshot(
    run: Run,
    driver: StorageDriver,
    state: string,
    why: SafetyReason,
): Promise<string> {
    const name = await freeName(`pre-${why}-${utcStamp(new Date(), "-")}`, (n) => driver.snapshotExists(state, n));
    run.log(`safety snapshot ${state}@${name}`);
    await driver.snapshot(state, name);
    return name;
}

export async function pruneSafetySnapshots(run: Run, driver: StorageDriver, config: HostConfig): Promise<void> {
    const { keep, maxAgeDays } = config.safetySnapshots;
    for (const state of await driver.list()) {
        const safety = (await driver.snapshots(state)).filter((s) => safetySnapshotPattern.test(s.name));
        const { drop } = retain(safety, { newest: keep, maxAgeSeconds: maxAgeDays * 86400 }, nowSeconds());
        for (const snap of drop) {
            if (await driver.snapshotHeld(state, snap.name)) {
                continue;
            }
            run.log(
                `pruning safety snapshot ${state}@${snap.name} (keeping the newest ${keep}, at most ${maxAgeDays} days old)`,
            );
            await driver.deleteSnapshot(state, snap.name);
        }
    }
}
