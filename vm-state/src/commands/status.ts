/** `status [--json]`: every slot (state, running, unit, guest system) and every state. Read-only. */
import { expectCount, parseArgs } from "../args";
import { openView, View } from "../context";
import { journalName, legacyJournalName } from "../layout";
import { slotRecords, stateRecords } from "../output/records";
import { renderJson, renderTables, slotsTable, statesTable, useColour } from "../output/table";
import { lstatOrNull } from "../root";
import { Run } from "../run";

/** Read-only commands only warn about an interrupted change: the next change finishes it. */
export function warnJournal(view: View): void {
    for (const name of [journalName, legacyJournalName]) {
        const path = view.layout.root.tryPath([name]);
        if (path === undefined || lstatOrNull(path) !== null) {
            view.run.log(
                `warning: an interrupted vm-state command left slots stopped or paused (see ${view.layout.rootDir}/${journalName}); the next vm-state change finishes it`,
            );
            return;
        }
    }
}

/** A move out of this host holds its slot down until it finishes or is cancelled: say so. */
export function warnLeaving(view: View): void {
    for (const { state, to, slot, phase } of view.records.leaving()) {
        if (phase === "copying") {
            view.run.log(
                `warning: state ${state} is being copied to ${to} while it runs (a move: vm-state fleet-cancel ${state} keeps it here)`,
            );
        } else {
            const held = slot ? `${slot} is stopped and has no disk` : "it runs nowhere";
            view.run.log(
                `warning: state ${state} is being moved to ${to}: ${held} until the move finishes there or is cancelled here (vm-state fleet-cancel ${state})`,
            );
        }
    }
}

export async function status(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({ flags: ["--json"] }, argv);
    expectCount(args, 0);
    const view = openView(run);
    warnJournal(view);
    warnLeaving(view);
    const slots = await slotRecords(view);
    const states = await stateRecords(view);
    if (args.flags.has("--json")) {
        run.out(renderJson({ backend: view.config.backend, slots, states }));
    } else {
        run.out(renderTables([slotsTable(slots), statesTable(states)], useColour(run.stdoutIsTTY, run.env.noColor)));
    }
}
