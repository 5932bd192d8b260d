/** `restore STATE@SNAP DST [--independent] [--if-missing]`: a new state holding the snapshot's data. */
import { expectCount, parseArgs } from "../args";
import { needNewState, needState } from "../checks";
import { openChange } from "../context";
import { conflict } from "../errors";
import { checkName, splitSnapshotRef } from "../names";
import { Run } from "../run";
import { shown } from "../text";

export async function restore(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({ flags: ["--if-missing", "--independent"] }, argv);
    expectCount(args, 2);
    const statesDir = `${run.env.root}/states`;
    const { state, snapshot } = splitSnapshotRef(args.positional[0], statesDir);
    const dst = args.positional[1];
    checkName("state", dst, statesDir);
    const ch = await openChange(run);
    if (!(await needNewState(ch, dst, args.flags.has("--if-missing")))) {
        return;
    }
    await needState(ch, state);
    if (!(await ch.driver.snapshotExists(state, snapshot))) {
        throw conflict(`unknown snapshot ${shown(`${state}@${snapshot}`)} (see: vm-state snapshots ${state})`);
    }
    await ch.driver.restore(state, snapshot, dst, args.flags.has("--independent"));
    run.log(`restored ${state}@${snapshot} to new state ${dst}`);
}
