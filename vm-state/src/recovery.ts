/**
 * Finishing what a killed change left (docs/vm-state.md "Locking and crash safety"), first thing
 * in every change: paused VMs are resumed, the journal's links made (with the same checks and
 * safety snapshots as apply) and its stopped slots started. Then the command does its own work.
 *
 * Slots the command sets itself (`assign SLOT ...`, the slots of an `apply` map) are left to it,
 * so the change that fixes a problem is never blocked by that problem. A slot whose `data.img` is
 * a disk of its own (an `adopt` killed before or after it moved the disk) is never replaced: its
 * journaled link is dropped and it starts on its own disk.
 */
import { Change } from "./context";
import { shown } from "./text";
import { switchSlots } from "./switch";

export async function recover(ch: Change, supersede: readonly string[]): Promise<void> {
    const { run, journal, slots, layout } = ch;
    for (const slot of journal.data.paused) {
        run.log(`resuming ${slot}, left paused by an interrupted snapshot`);
        if (!slots.has(slot) || (await slots.hypervisor(slot, "resume")) !== undefined) {
            run.log(`warning: could not resume ${shown(slot)} (not running any more?); forgetting it`);
        }
        journal.resumed([slot]);
    }
    const listed = [...new Set([...journal.data.stopped, ...Object.keys(journal.data.links)])];
    const forget = listed.filter((s) => !slots.has(s));
    if (forget.length > 0) {
        run.log(
            `warning: the journal lists ${forget.join(" ")} which are no slots in ${ch.config.path} any more; forgetting them`,
        );
        journal.started(forget);
    }
    const { stopped, links } = journal.data;
    if (stopped.length === 0 && Object.keys(links).length === 0) {
        return;
    }
    run.log(`an interrupted vm-state command left ${stopped.join(" ") || "no slot"} stopped: finishing it first`);
    run.recoveryNote = `could not finish the change that an interrupted vm-state command recorded in ${layout.journal()}; fix the cause and run any vm-state change again`;
    const pairs: [string, string][] = [];
    for (const [slot, state] of Object.entries(links)) {
        if (supersede.includes(slot)) {
            continue;
        }
        const disk = slots.diskKind(slot);
        if (disk !== "none" && disk !== "link") {
            const copy = (await ch.driver.exists(state))
                ? ` (state ${state} holds a copy of it: delete it, or adopt again)`
                : "";
            run.log(
                `warning: ${layout.slotLink(slot)} is a disk of its own: the journal's link of ${slot} to ${state} is dropped and ${slot} keeps that disk${copy}`,
            );
            journal.unlink([slot]);
            continue;
        }
        pairs.push([slot, state]);
    }
    await switchSlots(ch, pairs, { why: "recover", recovering: true, superseded: new Set(supersede) });
    run.recoveryNote = undefined;
}
