/** `delete-snapshot STATE@SNAP --yes [--if-exists]`: one snapshot (zfs: hidden while a clone depends on it). */
import { expectCount, parseArgs } from "../args";
import { openChange } from "../context";
import { conflict } from "../errors";
import { splitSnapshotRef } from "../names";
import { Run } from "../run";
import { shown } from "../text";
import { confirmDelete } from "./confirm";

export async function deleteSnapshot(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({ flags: ["--yes", "--if-exists"] }, argv);
    expectCount(args, 1);
    const { state, snapshot } = splitSnapshotRef(args.positional[0], `${run.env.root}/states`);
    const ch = await openChange(run);
    if (!(await ch.driver.exists(state)) || !(await ch.driver.snapshotExists(state, snapshot))) {
        if (args.flags.has("--if-exists")) {
            run.log(`snapshot ${state}@${snapshot} does not exist; nothing to do`);
            return;
        }
        throw conflict(`unknown snapshot ${shown(`${state}@${snapshot}`)} (see: vm-state snapshots ${state})`);
    }
    confirmDelete(run, args.flags.has("--yes"), `${state}@${snapshot}`);
    await ch.driver.deleteSnapshot(state, snapshot);
    run.log(`deleted snapshot ${state}@${snapshot}`);
    await ch.driver.gc();
}
