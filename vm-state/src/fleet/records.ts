/**
 * The fleet's records under `<root>/.vm-state-fleet/` (docs/vm-state.md "Fleet"), as the fleet
 * commands write them (JSON, replaced atomically):
 *
 *   in/<state>.json        a move into this host: {from, phase, ...}
 *   out/<state>.json       a move out of this host: {to, phase, slot, wasRunning}
 *   moved/<state>.json     a finished move out: {to, at, hidden} (hidden: the copy kept)
 *   replicas/<state>.json  a replica held here: {from}
 *   replicated/<state>.<to>.json  the last replication of a state to a host that finished: {at}
 *
 * Phase 1 of the TypeScript vm-state reads them (local changes refuse a state that is leaving or
 * arriving, `list --all`, `status`, `metrics`); the fleet commands that write them are the next
 * step (fleet/legacy.ts runs them meanwhile).
 */
import { readdirSync, readFileSync } from "fs";
import { conflict } from "../errors";
import { fleetDirName, Layout } from "../layout";
import { lstatOrNull } from "../root";
import { HiddenEntry, StorageDriver } from "../storage/driver";

export type RecordKind = "in" | "out" | "moved" | "replicas" | "replicated";
export type FleetRecord = Readonly<Record<string, unknown>>;

const text = (v: unknown): string => (typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v));

export class FleetRecords {
    constructor(private readonly layout: Layout) {}

    /** The record of KIND for FILE (`<state>.json`), or undefined; a link there is refused (exit 4). */
    read(kind: RecordKind, file: string): FleetRecord | undefined {
        const path = this.layout.fleetRecord(kind, file);
        if (lstatOrNull(path)?.isFile() !== true) {
            return undefined;
        }
        try {
            const doc: unknown = JSON.parse(readFileSync(path, "utf8"));
            return typeof doc === "object" && doc !== null && !Array.isArray(doc) ? (doc as FleetRecord) : {};
        } catch {
            return {};
        }
    }

    get(kind: RecordKind, state: string): FleetRecord | undefined {
        return this.read(kind, `${state}.json`);
    }

    /** The record files of KIND (`<name>.json`, names without `.json`), sorted; none when the directory is a link or absent. */
    list(kind: RecordKind): string[] {
        const dir = this.layout.root.tryPath([fleetDirName, kind]);
        if (dir === undefined || lstatOrNull(dir)?.isDirectory() !== true) {
            return [];
        }
        return readdirSync(dir)
            .filter((f) => f.endsWith(".json") && !f.startsWith("."))
            .filter((f) => lstatOrNull(`${dir}/${f}`)?.isFile() === true)
            .map((f) => f.slice(0, -".json".length))
            .sort();
    }

    /** A new state may not take the name of one arriving here (fleet-pull places it under that name last). */
    needNotArriving(state: string): void {
        const record = this.get("in", state);
        if (record !== undefined) {
            throw conflict(`state ${state} is arriving from ${text(record.from) || "another host"} (vm-state fleet-pull; --abort rolls it back)`);
        }
    }

    /** Local changes refuse a state that is leaving this host (its slot is stopped and detached). */
    needNotLeaving(state: string): void {
        const record = this.get("out", state);
        if (record !== undefined) {
            throw conflict(`state ${state} is being moved to ${text(record.to) || "another host"} (vm-state fleet-cancel ${state} keeps it here)`);
        }
    }

    /** Moves out of this host: `{state, to, slot, phase}` each (from `releasing` on, the slot is held down). */
    leaving(): { state: string; to: string; slot: string; phase: string }[] {
        return this.list("out").map((state) => {
            const r = this.get("out", state) ?? {};
            return { state, to: text(r.to), slot: text(r.slot), phase: text(r.phase) };
        });
    }

    /** Hidden fleet data for `list --all`: copies kept after a move, moves arriving, replicas held. */
    async hidden(driver: StorageDriver): Promise<HiddenEntry[]> {
        const entries: HiddenEntry[] = [];
        for (const state of this.list("moved")) {
            const r = this.get("moved", state) ?? {};
            if (r.hidden !== undefined && r.hidden !== null) {
                entries.push({ name: text(r.hidden), was: `${state} (moved to ${text(r.to)}; vm-state gc --fleet-moved removes it)`, heldBy: [] });
            }
        }
        for (const state of this.list("in")) {
            const r = this.get("in", state) ?? {};
            entries.push({ name: driver.fleetNames.arriving(state), was: `${state} (arriving from ${text(r.from)}: ${text(r.phase)})`, heldBy: [] });
        }
        for (const state of this.list("replicas")) {
            const r = this.get("replicas", state) ?? {};
            const count = (await driver.replicaSnapshots(state)).length;
            entries.push({
                name: driver.fleetNames.replica(state),
                was: `replica of ${state} from ${text(r.from)} (${count} snapshots; vm-state replica-promote ${state} makes it a state)`,
                heldBy: [],
            });
        }
        return entries;
    }
}
