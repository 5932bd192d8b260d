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
 *   locks/<kind>-<state>.lock     one transfer per state and direction at a time
 *   fleet.log              every fleet-serve request, allowed or refused
 *
 * Local changes read them (a state leaving or arriving is refused, `list --all`, `status`,
 * `metrics`); the fleet commands write them, each record replaced atomically (a kill leaves the
 * old record or the new, and at most a `.tmp-*` file the next change removes).
 */
import { appendFileSync, readdirSync, readFileSync, rmSync } from "fs";
import { makeDirs, removeDurably, writeAtomic } from "../atomic";
import { conflict, fail } from "../errors";
import { fleetDirName, Layout } from "../layout";
import { lstatOrNull } from "../root";
import { HiddenEntry, StorageDriver } from "../storage/driver";
import { systemMessage } from "../text";
import { isoSeconds } from "../time";

export type RecordKind = "in" | "out" | "moved" | "replicas" | "replicated";
export const recordKinds: readonly RecordKind[] = ["in", "out", "moved", "replicas", "replicated"];
const tempPrefix = ".tmp-";
export type FleetRecord = Readonly<Record<string, unknown>>;

const text = (v: unknown): string =>
    typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v);

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

    /** The record directories and `locks/`, made when first needed (a link there is refused, exit 4). */
    ready(): void {
        for (const segments of [[fleetDirName], ...[...recordKinds, "locks"].map((k) => [fleetDirName, k])]) {
            const dir = this.layout.root.path(segments);
            try {
                makeDirs(dir);
            } catch (err) {
                throw fail(`cannot create ${dir}: ${systemMessage(err)}`);
            }
        }
    }

    /** Merges FIELDS into the record of KIND for FILE (`<state>.json`), written anew and renamed over the old one. */
    put(kind: RecordKind, state: string, fields: FleetRecord, file = `${state}.json`): FleetRecord {
        this.ready();
        const path = this.layout.fleetRecord(kind, file);
        const record = { ...(this.read(kind, file) ?? {}), ...fields };
        try {
            writeAtomic(
                this.layout.root.path([fleetDirName, kind]),
                path,
                `${tempPrefix}${file}`,
                `${JSON.stringify(record)}\n`,
            );
        } catch (err) {
            throw fail(`cannot write the record ${path}: ${systemMessage(err)}`);
        }
        return record;
    }

    remove(kind: RecordKind, state: string): void {
        const dir = this.layout.root.tryPath([fleetDirName, kind]);
        if (dir === undefined || lstatOrNull(dir) === null) {
            return;
        }
        const path = this.layout.fleetRecord(kind, `${state}.json`);
        try {
            removeDurably(dir, path);
        } catch (err) {
            throw fail(`cannot remove the record ${path}: ${systemMessage(err)}`);
        }
    }

    /** The temporary files a killed `put` left (under the lock, nothing else writes them): removed, each path returned. */
    leftovers(): string[] {
        const removed: string[] = [];
        for (const kind of recordKinds) {
            const dir = this.layout.root.tryPath([fleetDirName, kind]);
            if (dir === undefined || lstatOrNull(dir)?.isDirectory() !== true) {
                continue;
            }
            for (const name of readdirSync(dir)
                .filter((n) => n.startsWith(tempPrefix))
                .sort()) {
                rmSync(`${dir}/${name}`, { force: true });
                removed.push(`${dir}/${name}`);
            }
        }
        return removed;
    }

    /**
     * One line in `fleet.log` (time, the client's address or `-`, what happened), anything not
     * printable as `?`; a log that cannot be written never stops a request.
     */
    log(client: string, line: string, now = new Date()): void {
        const text = `${isoSeconds(Math.floor(now.getTime() / 1000))} ${client || "-"} ${line}`.replace(
            /[^\x20-\x7e]/g,
            "?",
        );
        const path = this.layout.root.tryPath([fleetDirName, "fleet.log"]);
        if (path === undefined || lstatOrNull(this.layout.rootEntry(fleetDirName))?.isDirectory() !== true) {
            return;
        }
        try {
            appendFileSync(path, `${text}\n`);
        } catch {
            // the request goes on; the log is for the operator
        }
    }

    /** A new state may not take the name of one arriving here (fleet-pull places it under that name last; it passes that one as PLACING). */
    needNotArriving(state: string, placing?: string): void {
        const record = this.get("in", state);
        if (record !== undefined && state !== placing) {
            throw conflict(
                `state ${state} is arriving from ${text(record.from) || "another host"} (vm-state fleet-pull; --abort rolls it back)`,
            );
        }
    }

    /** Local changes refuse a state that is leaving this host (its slot is stopped and detached). */
    needNotLeaving(state: string): void {
        const record = this.get("out", state);
        if (record !== undefined) {
            throw conflict(
                `state ${state} is being moved to ${text(record.to) || "another host"} (vm-state fleet-cancel ${state} keeps it here)`,
            );
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
                entries.push({
                    name: text(r.hidden),
                    was: `${state} (moved to ${text(r.to)}; vm-state gc --fleet-moved removes it)`,
                    heldBy: [],
                });
            }
        }
        for (const state of this.list("in")) {
            const r = this.get("in", state) ?? {};
            entries.push({
                name: driver.fleetNames.arriving(state),
                was: `${state} (arriving from ${text(r.from)}: ${text(r.phase)})`,
                heldBy: [],
            });
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
