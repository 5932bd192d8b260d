/** `snapshots STATE [--json]`: the state's snapshots, oldest first. Read-only. */
import { expectCount, parseArgs } from "../args";
import { needState } from "../checks";
import { openView } from "../context";
import { stateRecords } from "../output/records";
import { renderJson, renderTables, snapshotsTable, useColour } from "../output/table";
import { Run } from "../run";

export async function snapshots(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({ flags: ["--json"] }, argv);
    expectCount(args, 1);
    const state = args.positional[0];
    const view = openView(run);
    await needState(view, state);
    const [record] = await stateRecords(view, [state]);
    if (args.flags.has("--json")) {
        run.out(renderJson({ state: record.name, snapshots: record.snapshots }));
    } else {
        run.out(renderTables([snapshotsTable(record.snapshots)], useColour(run.stdoutIsTTY, run.env.noColor)));
    }
}
