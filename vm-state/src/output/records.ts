/**
 * The records `status`, `list` and `snapshots` print: built once, printed as JSON (`--json`, the
 * shapes docs/vm-state.md documents) or rendered as tables (table.ts) from the same records.
 */
import { readlinkSync } from "fs";
import { resolve } from "path";
import { View } from "../context";
import { unitOf } from "../slots";
import { HiddenEntry } from "../storage/driver";
import { isoSeconds } from "../time";

export interface SnapshotRecord {
    readonly name: string;
    readonly created: string;
}

export interface StateRecord {
    readonly name: string;
    readonly slot: string | null;
    readonly sizeBytes: number | null;
    readonly allocatedBytes: number | null;
    readonly snapshots: readonly SnapshotRecord[];
}

export interface SystemRecord {
    /** The guest's NixOS system the host declares (a store path). */
    readonly declared: string;
    /** The system the running VM started with, null when it does not run. */
    readonly booted: string | null;
    /** Whether the VM runs the declared runner; null when it does not run. */
    readonly upToDate: boolean | null;
}

export interface SlotRecord {
    readonly name: string;
    readonly state: string | null;
    readonly running: boolean;
    readonly unit: string;
    readonly system: SystemRecord | null;
}

export type { HiddenEntry as HiddenRecord };

/** The state records of the named states (all, by default), in that order. */
export async function stateRecords(view: View, names?: readonly string[]): Promise<StateRecord[]> {
    const states = names ?? (await view.driver.list());
    const slotOf = new Map<string, string>();
    for (const slot of view.slots.names) {
        const state = view.slots.stateOf(slot);
        if (state !== undefined) {
            slotOf.set(state, slot);
        }
    }
    const records: StateRecord[] = [];
    for (const name of states) {
        const usage = view.driver.usage(name);
        const snapshots = (await view.driver.snapshots(name)).map((s) => ({
            name: s.name,
            created: isoSeconds(s.created),
        }));
        records.push({
            name,
            slot: slotOf.get(name) ?? null,
            sizeBytes: usage.sizeBytes,
            allocatedBytes: usage.allocatedBytes,
            snapshots,
        });
    }
    return records;
}

/**
 * A slot's runner and system from microvm.nix's links in its directory (read, never evaluated):
 * `current` is the runner the host declares (install-microvm-<slot> relinks it on every switch),
 * `booted` the runner the VM started with (microvm-set-booted@<slot>); a runner's
 * `share/microvm/system` links to its guest's system. `microvm -l` compares the same links.
 * The runners live in the Nix store: only links are read there, nothing is written.
 */
function runnerOf(
    view: View,
    slot: string,
    kind: "current" | "booted",
): { runner: string; system: string } | undefined {
    const link = view.layout.root.tryPath([slot, kind], { lastMayBeLink: true });
    if (link === undefined) {
        return undefined;
    }
    let runner: string;
    try {
        runner = readlinkSync(link);
    } catch {
        return undefined;
    }
    let system = "";
    try {
        system = readlinkSync(`${resolve(view.layout.rootDir, slot, runner)}/share/microvm/system`);
    } catch {
        // a runner without a system link shows an empty system
    }
    const clean = (s: string): string => s.replace(/[\t\n]/g, "?");
    return { runner: clean(runner), system: clean(system) };
}

export function systemOf(view: View, slot: string): SystemRecord | null {
    const current = runnerOf(view, slot, "current");
    if (current === undefined || current.system === "") {
        return null;
    }
    const booted = runnerOf(view, slot, "booted");
    return {
        declared: current.system,
        booted: booted && booted.system !== "" ? booted.system : null,
        upToDate: booted && booted.system !== "" ? booted.runner === current.runner : null,
    };
}

export async function slotRecords(view: View): Promise<SlotRecord[]> {
    const records: SlotRecord[] = [];
    for (const slot of view.slots.names) {
        const disk = view.layout.root.tryPath([slot]) === undefined ? "none" : view.slots.diskKind(slot);
        if (disk !== "none" && disk !== "link") {
            view.run.log(
                `warning: ${view.layout.rootDir}/${slot}/data.img is not a link to a state (adopt it: vm-state adopt ${slot} NAME)`,
            );
        }
        records.push({
            name: slot,
            state: view.slots.stateOf(slot) ?? null,
            running: await view.slots.isRunning(slot),
            unit: unitOf(slot),
            system: systemOf(view, slot),
        });
    }
    return records;
}
