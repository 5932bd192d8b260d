/**
 * Tables for people, rendered from the same records as `--json`: aligned columns, the header bold,
 * `running` green, `stopped` and `-` dim, colour only when stdout is a terminal and NO_COLOR is
 * unset. Tables are separated by an empty line.
 */
import { humanSize } from "../text";
import { HiddenRecord, SlotRecord, SnapshotRecord, StateRecord, SystemRecord } from "./records";

export type Row = readonly string[];
export interface Table {
    readonly header: Row;
    readonly rows: readonly Row[];
}

const style = { bold: "\x1b[1m", dim: "\x1b[2m", green: "\x1b[32m", reset: "\x1b[0m" } as const;

export function useColour(isTTY: boolean, noColor: boolean): boolean {
    return isTTY && !noColor;
}

/** Aligned lines of one table. Empty cells are dropped, as the tables always did (tab-separated fields). */
export function renderTable(table: Table, colour: boolean): string[] {
    const rows = [table.header, ...table.rows].map((r) => r.filter((c) => c !== ""));
    const widths: number[] = [];
    for (const row of rows) {
        row.forEach((cell, i) => {
            widths[i] = Math.max(widths[i] ?? 0, cell.length);
        });
    }
    return rows.map((row, n) => {
        const cells = row.map((cell, i) => {
            const padded = i + 1 < row.length ? cell.padEnd(widths[i]) : cell;
            if (!colour) {
                return padded;
            }
            if (cell === "running") {
                return `${style.green}${padded}${style.reset}`;
            }
            if (cell === "stopped" || cell === "-") {
                return `${style.dim}${padded}${style.reset}`;
            }
            return padded;
        });
        const line = cells.join("  ");
        return n === 0 && colour ? `${style.bold}${line}${style.reset}` : line;
    });
}

export function renderTables(tables: readonly Table[], colour: boolean): string {
    return `${tables.map((t) => renderTable(t, colour).join("\n")).join("\n\n")}\n`;
}

/** The first 7 characters of a store path's hash: `/nix/store/9f8e7d6...-nixos-system-...` -> `9f8e7d6`. */
const generation = (storePath: string): string => (storePath.split("/").pop() ?? "").split("-")[0].slice(0, 7);

export function systemCell(system: SystemRecord | null): string {
    if (system === null) {
        return "-";
    }
    if (system.booted === null) {
        return `${generation(system.declared)} (not running)`;
    }
    if (system.upToDate) {
        return `${generation(system.declared)} (current)`;
    }
    if (generation(system.booted) === generation(system.declared)) {
        return `${generation(system.booted)} (outdated: restart to apply its new VM settings)`;
    }
    return `${generation(system.booted)} (outdated: restart to apply ${generation(system.declared)})`;
}

export function slotsTable(slots: readonly SlotRecord[]): Table {
    return {
        header: ["SLOT", "STATE", "RUNNING", "SYSTEM"],
        rows: slots.map((s) => [s.name, s.state ?? "-", s.running ? "running" : "stopped", systemCell(s.system)]),
    };
}

export function statesTable(states: readonly StateRecord[]): Table {
    return {
        header: ["STATE", "SLOT", "SIZE", "ALLOCATED", "SNAPSHOTS", "LATEST"],
        rows: states.map((s) => [
            s.name,
            s.slot ?? "-",
            humanSize(s.sizeBytes),
            humanSize(s.allocatedBytes),
            String(s.snapshots.length),
            s.snapshots.length > 0 ? s.snapshots[s.snapshots.length - 1].name : "-",
        ]),
    };
}

export function hiddenTable(hidden: readonly HiddenRecord[]): Table {
    return { header: ["HIDDEN", "WAS", "HELD BY"], rows: hidden.map((h) => [h.name, h.was, h.heldBy.join(",")]) };
}

export function snapshotsTable(snapshots: readonly SnapshotRecord[]): Table {
    return { header: ["SNAPSHOT", "CREATED"], rows: snapshots.map((s) => [s.name, s.created]) };
}

/** `--json`: pretty-printed, two spaces, as jq printed it. */
export function renderJson(value: unknown): string {
    return `${JSON.stringify(value, null, 2)}\n`;
}
