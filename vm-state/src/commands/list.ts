/** `list [--json] [--all]`: every state; `--all` adds what is kept hidden (zfs clones' origins, fleet copies). Read-only. */
import { expectCount, parseArgs } from "../args";
import { openView } from "../context";
import { stateRecords } from "../output/records";
import { hiddenTable, renderJson, renderTables, statesTable, useColour } from "../output/table";
import { Run } from "../run";

export async function list(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({ flags: ["--json", "--all"] }, argv);
    expectCount(args, 0);
    const view = openView(run);
    const states = await stateRecords(view);
    const hidden = args.flags.has("--all")
        ? [...(await view.driver.hidden()), ...(await view.records.hidden(view.driver))]
        : undefined;
    if (args.flags.has("--json")) {
        run.out(
            renderJson(
                hidden === undefined
                    ? { backend: view.config.backend, states }
                    : { backend: view.config.backend, states, hidden },
            ),
        );
        return;
    }
    const tables = hidden === undefined ? [statesTable(states)] : [statesTable(states), hiddenTable(hidden)];
    run.out(renderTables(tables, useColour(run.stdoutIsTTY, run.env.noColor)));
}
