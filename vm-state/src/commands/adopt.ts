/**
 * `adopt SLOT STATE`: the slot's `data.img` is a disk image of its own (an older layout, a copy
 * made by hand); it becomes the new state STATE (moved, not copied, on the states' filesystem) and
 * the slot's `data.img` a link to it. A running slot is stopped for the move and started again.
 *
 * The journal records the link (and the stop) before the disk moves, so a killed adopt is
 * finished by the next change: it links the slot to the state, or, when the disk never moved (or
 * was copied and is still in place), leaves the slot on its own disk (recovery.ts).
 */
import { readlinkSync } from "fs";
import { expectCount, parseArgs } from "../args";
import { checkLinkable, needNewState } from "../checks";
import { openChange } from "../context";
import { conflict } from "../errors";
import { checkName } from "../names";
import { Run } from "../run";

export async function adopt(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({}, argv);
    expectCount(args, 2);
    const [slot, state] = args.positional;
    checkName("slot", slot, `${run.env.root}/states`);
    checkName("state", state, `${run.env.root}/states`);
    const ch = await openChange(run, { supersede: [slot] });
    const { slots, journal, layout } = ch;
    slots.need(slot);
    const link = layout.slotLink(slot);
    const kind = slots.diskKind(slot);
    if (kind === "link") {
        throw conflict(`${link} is already a link (to ${readlinkSync(link)}); nothing to adopt`);
    }
    if (kind !== "file") {
        throw conflict(`${link} is not a disk image file; nothing to adopt`);
    }
    await needNewState(ch, state, false);
    checkLinkable(ch, slot);
    const running = await slots.isRunning(slot);
    if (running) {
        journal.change({ [slot]: state });
    } else {
        journal.link({ [slot]: state });
    }
    // Until the disk has moved, a failure starts the slot again on it and forgets the change.
    const rollback = run.onFailure(async () => {
        if (running) {
            run.log(`starting ${slot} again on the disk it had, after the failure`);
            await slots.start(slot);
        }
        journal.started([slot]);
    });
    if (running) {
        await slots.stop(slot);
    }
    await run.phase("stopped");
    await ch.driver.adopt(link, state);
    rollback.dismiss();
    run.log(`${link} is now state ${state}`);
    await run.phase("adopted");
    slots.link(slot, state); // replaces the disk where it was copied, not moved
    run.log(`${slot} -> ${state}`);
    if (running) {
        await slots.start(slot);
        journal.started([slot]);
        await slots.waitRunning([slot]);
    } else {
        journal.started([slot]);
    }
}
