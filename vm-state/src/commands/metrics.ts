/**
 * `metrics [--output FILE]`: Prometheus metrics on stdout, or FILE replaced atomically (a
 * temporary file beside it, fsync, rename) for the node exporter's textfile collector. Read-only.
 * When infra.json or the root cannot be read, the output still holds every family and
 * `vm_state_up 0`, and vm-state exits 1 with the reason.
 */
import { basename, dirname } from "path";
import { expectCount, parseArgs } from "../args";
import { writeAtomic } from "../atomic";
import { openView } from "../context";
import { fail, VmStateError } from "../errors";
import { collect } from "../metrics/collect";
import { renderMetrics } from "../metrics/exposition";
import { lstatOrNull } from "../root";
import { Run } from "../run";
import { systemMessage } from "../text";

export async function metrics(run: Run, argv: readonly string[]): Promise<number> {
    const args = parseArgs({ values: ["--output"] }, argv);
    expectCount(args, 0);
    let text: string;
    let problem: VmStateError | undefined;
    try {
        const view = openView(run);
        if (lstatOrNull(view.layout.rootDir)?.isDirectory() !== true) {
            throw fail(`cannot read ${view.layout.rootDir}: not a directory`);
        }
        text = renderMetrics(await collect(view));
    } catch (err) {
        if (!(err instanceof VmStateError)) {
            throw err;
        }
        problem = err;
        text = renderMetrics(new Map([["vm_state_up", [{ value: 0 }]]]));
    }
    const output = args.values.get("--output");
    if (output === undefined) {
        run.out(text);
    } else {
        try {
            writeAtomic(dirname(output), output, `.${basename(output)}`, text);
        } catch (err) {
            throw fail(`cannot write ${output}: ${systemMessage(err)}`);
        }
    }
    if (problem !== undefined) {
        run.log(problem.message);
        return problem.code;
    }
    return 0;
}
