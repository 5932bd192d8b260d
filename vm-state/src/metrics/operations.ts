/**
 * The record of the last run of each change, for `vm-state metrics`
 * (/work/helpers/contract-vm-state-metrics.md): `<root>/.vm-state-metrics/last-<command>.json`,
 * written atomically when the command ends, so a crash leaves the previous record.
 */
import { readdirSync, readFileSync } from "fs";
import { makeDirs, writeAtomic } from "../atomic";
import { VmStateError } from "../errors";
import { Layout, metricsDirName } from "../layout";
import { lstatOrNull } from "../root";
import { Run } from "../run";
import { systemMessage } from "../text";

export interface OperationRecord {
    readonly command: string;
    /** When it ended, seconds since the epoch. */
    readonly endedAt: number;
    readonly durationSeconds: number;
    readonly exitCode: number;
}

export function recordOperation(run: Run, command: string, exitCode: number): void {
    const layout = run.operation?.layout;
    if (layout === undefined || lstatOrNull(layout.rootDir)?.isDirectory() !== true) {
        return;
    }
    const now = Date.now();
    const record: OperationRecord = {
        command,
        endedAt: now / 1000,
        durationSeconds: (now - run.startedAt) / 1000,
        exitCode,
    };
    try {
        const dir = layout.metricsDir();
        makeDirs(dir);
        // A crash leaves the previous record (the metrics contract): the directory need not be synced.
        writeAtomic(
            dir,
            layout.metricsRecord(command),
            `.tmp-last-${command}.json`,
            `${JSON.stringify(record)}\n`,
            0o644,
            false,
        );
    } catch (err) {
        const why = err instanceof VmStateError ? err.message : systemMessage(err);
        run.log(`warning: could not record this run for vm-state metrics: ${why}`);
    }
}

/** Every command's last record (unreadable ones skipped). */
export function readOperations(layout: Layout): OperationRecord[] {
    const dir = layout.root.tryPath([metricsDirName]);
    if (dir === undefined || lstatOrNull(dir)?.isDirectory() !== true) {
        return [];
    }
    const records: OperationRecord[] = [];
    for (const file of readdirSync(dir).sort()) {
        const m = /^last-([a-z][a-z-]*)\.json$/.exec(file);
        if (!m || lstatOrNull(`${dir}/${file}`)?.isFile() !== true) {
            continue;
        }
        try {
            const r = JSON.parse(readFileSync(`${dir}/${file}`, "utf8")) as Partial<OperationRecord>;
            if (
                r.command === m[1] &&
                typeof r.endedAt === "number" &&
                typeof r.durationSeconds === "number" &&
                typeof r.exitCode === "number"
            ) {
                records.push(r as OperationRecord);
            }
        } catch {
            // a record being replaced, or not one: skipped
        }
    }
    return records;
}
