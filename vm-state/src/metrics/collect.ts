/**
 * What `vm-state metrics` measures (/work/helpers/contract-vm-state-metrics.md): the states,
 * their snapshots, the journal, the fleet's moves and replicas, the last run of each change and
 * the space where the states live. Read-only: no lock; a state that cannot be read is skipped.
 */
import { View } from "../context";
import { journalName, legacyJournalName } from "../layout";
import { lstatOrNull } from "../root";
import { readOperations } from "./operations";
import { MetricName, Sample } from "./exposition";

type Samples = Map<MetricName, Sample[]>;

const add = (samples: Samples, name: MetricName, value: number, labels?: Record<string, string>): void => {
    samples.set(name, [...(samples.get(name) ?? []), { value, labels }]);
};

/** `_replica-<host>-YYYYMMDD-HHMMSS[-N]` -> seconds since the epoch, or undefined. */
export function replicaTime(name: string): number | undefined {
    const m = /-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?:-\d+)?$/.exec(name);
    if (!m || !name.startsWith("_replica-")) {
        return undefined;
    }
    const [, y, mo, d, h, mi, s] = m.map(Number);
    return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

export async function collect(view: View): Promise<Samples> {
    const samples: Samples = new Map();
    add(samples, "vm_state_up", 1);
    const slotOf = new Map<string, string>();
    for (const slot of view.slots.names) {
        const state = view.slots.stateOf(slot);
        if (state !== undefined) {
            slotOf.set(state, slot);
        }
    }
    for (const state of await view.driver.list()) {
        add(samples, "vm_state_state_info", 1, { state, slot: slotOf.get(state) ?? "" });
        const usage = view.driver.usage(state);
        if (usage.sizeBytes !== null) {
            add(samples, "vm_state_state_size_bytes", usage.sizeBytes, { state });
        }
        const used = await view.driver.usedBytes(state);
        if (used !== null) {
            add(samples, "vm_state_state_used_bytes", used, { state });
        }
        const snapshots = await view.driver.snapshots(state);
        add(samples, "vm_state_state_snapshots", snapshots.length, { state });
        if (snapshots.length > 0) {
            add(
                samples,
                "vm_state_state_newest_snapshot_timestamp_seconds",
                Math.max(...snapshots.map((s) => s.created)),
                { state },
            );
        }
    }
    for (const file of view.records.list("replicated")) {
        const dot = file.indexOf(".");
        const at = view.records.read("replicated", `${file}.json`)?.at;
        if (dot > 0 && typeof at === "number") {
            add(samples, "vm_state_replica_last_success_timestamp_seconds", at, {
                state: file.slice(0, dot),
                to: file.slice(dot + 1),
            });
        }
    }
    for (const state of view.records.list("replicas")) {
        const from = view.records.get("replicas", state)?.from;
        const times = (await view.driver.replicaSnapshots(state))
            .map(replicaTime)
            .filter((t): t is number => t !== undefined);
        if (typeof from === "string" && times.length > 0) {
            add(samples, "vm_state_replica_newest_timestamp_seconds", Math.max(...times), { state, from });
        }
    }
    const journalPending = [journalName, legacyJournalName].some((n) => {
        const path = view.layout.root.tryPath([n]);
        return path === undefined || lstatOrNull(path) !== null;
    });
    add(samples, "vm_state_journal_pending", journalPending ? 1 : 0);
    for (const [direction, kind] of [
        ["in", "in"],
        ["out", "out"],
    ] as const) {
        for (const state of view.records.list(kind)) {
            add(samples, "vm_state_move_in_progress", 1, { state, direction });
        }
    }
    for (const op of readOperations(view.layout)) {
        const labels = { command: op.command };
        add(samples, "vm_state_last_operation_timestamp_seconds", op.endedAt, labels);
        add(samples, "vm_state_last_operation_duration_seconds", op.durationSeconds, labels);
        add(samples, "vm_state_last_operation_success", op.exitCode === 0 ? 1 : 0, labels);
        add(samples, "vm_state_last_operation_exit_code", op.exitCode, labels);
    }
    const capacity = await view.driver.capacity();
    if (capacity !== null) {
        add(samples, "vm_state_storage_free_bytes", capacity.freeBytes);
        add(samples, "vm_state_storage_size_bytes", capacity.sizeBytes);
    }
    return samples;
}
