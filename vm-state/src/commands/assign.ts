/**
 * `assign SLOT STATE` (and `migrate STATE SLOT`, the same): stop the slot, take a safety snapshot
 * of the state it leaves, point its `data.img` at STATE, start it, wait until it is active. A
 * change made by hand: the next deploy's `apply` sets the slot back to the stack config's state.
 */
import { expectCount, parseArgs } from "../args";
import { needState } from "../checks";
import { openChange } from "../context";
import { conflict } from "../errors";
import { checkName } from "../names";
import { Run } from "../run";
import { switchSlots } from "../switch";

async function assignSlot(run: Run, slot: string, state: string): Promise<void> {
    checkName("slot", slot, `${run.env.root}/states`);
    checkName("state", state, `${run.env.root}/states`);
    const ch = await openChange(run, { supersede: [slot] });
    ch.slots.need(slot);
    await needState(ch, state);
    const other = ch.slots.slotOf(state);
    if (other !== undefined && other !== slot) {
        throw conflict(
            `state ${state} is attached to ${other}; a state runs on one slot at most (assign ${other} another state first)`,
        );
    }
    await switchSlots(ch, [[slot, state]], { why: "assign" });
}

export async function assign(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({}, argv);
    expectCount(args, 2);
    await assignSlot(run, args.positional[0], args.positional[1]);
}

export async function migrate(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({}, argv);
    expectCount(args, 2);
    await assignSlot(run, args.positional[1], args.positional[0]);
}
