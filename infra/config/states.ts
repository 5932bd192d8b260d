/** `states`: the VMs' disks, how each comes to exist, its snapshots and what removal does. */
import {
    formerSnapshotName,
    formerStateName,
    snapshotResourceName,
    stateResourceName,
} from "../../components/state/vmState";
import { nameProblem } from "../../lib/names";
import { shown } from "../../lib/redact";
import { checkReplication, FleetHost, parseReplication, Replication, stateHost } from "./fleet";
import { SlotConfig, slotDefaults } from "./slots";
import { Problems, readChoice, readInt, readMap, readObject, readString, readStringList } from "./reader";

export type OnRemove = "retain" | "destroy";

export interface AutoSnapshots {
    readonly hourly: number;
    readonly daily: number;
    readonly weekly: number;
    readonly monthly: number;
}

export interface StateSource {
    readonly state: string;
    readonly snapshot?: string;
}

export interface StateConfig {
    readonly name: string;
    /** The host it lives on: its slot's, its own `host`, its source's, or the only host. */
    readonly host: string;
    /** A warm copy on another host. */
    readonly replicate?: Replication;
    readonly from?: StateSource;
    readonly snapshots: readonly string[];
    readonly onRemove: OnRemove;
    readonly autoSnapshots?: AutoSnapshots;
    /** The slot this state is attached to, if any. */
    readonly slot?: string;
    /** Size of a fresh image: the attached slot's `diskGiB`, or the default. */
    readonly diskGiB: number;
}

/** A state as listed under `states` (before the slots' own states are added). */
export interface ListedState {
    readonly host?: string;
    readonly replicate?: Replication;
    readonly from?: StateSource;
    readonly snapshots: readonly string[];
    readonly onRemove: OnRemove;
    readonly autoSnapshots?: AutoSnapshots;
}

const stateKeys = ["from", "host", "snapshots", "onRemove", "autoSnapshots", "replicate"];

/**
 * Snapshot names vm-state gives its own snapshots and manages itself: a named snapshot of that form
 * would be pruned or renamed over by vm-state, so the config refuses it. (scripts/vm-state.d at
 * commit 78d2409: common.bash `safety_snapshot` names pre-WHY-YYYYMMDD-HHMMSS[-N], `prune_safety`
 * deletes those matching SAFETY_RE, and `switch_slots` is called with assign, apply and recover;
 * fleet.bash `replica_visible_name` names a promoted replica's snapshots replica-YYYYMMDD-HHMMSS[-N].)
 */
export const vmStateSnapshotForms: readonly {
    readonly pattern: RegExp;
    readonly form: string;
    readonly what: string;
}[] = [
    {
        pattern: /^pre-[a-z]+-\d{8}-\d{6}(-\d+)?$/,
        form: "pre-<why>-<date>-<time>",
        what: "safety snapshots, which vm-state prunes",
    },
    { pattern: /^replica-\d{8}-\d{6}(-\d+)?$/, form: "replica-<date>-<time>", what: "snapshots of a promoted replica" },
];

/** Why `snap` cannot be a named snapshot because vm-state names its own that way, or undefined. */
export function vmStateSnapshotProblem(snap: string): string | undefined {
    const own = vmStateSnapshotForms.find((f) => f.pattern.test(snap));
    return own && `${shown(snap)} has the form of vm-state's own ${own.what} (${own.form}); give yours another name`;
}
const autoSnapshotKeys = ["hourly", "daily", "weekly", "monthly"] as const;

function parseFrom(p: Problems, path: string, text: string): StateSource | undefined {
    const [state, snapshot, ...rest] = text.split("@");
    const valid =
        rest.length === 0 &&
        nameProblem("state", state) === undefined &&
        (snapshot === undefined || nameProblem("snapshot", snapshot) === undefined);
    if (!valid) {
        p.add(path, `must be a state name or state@snapshot, got ${shown(text)}`);
        return undefined;
    }
    return { state, snapshot };
}

function parseAutoSnapshots(p: Problems, path: string, raw: unknown): AutoSnapshots | undefined {
    if (raw === undefined || raw === null) {
        return undefined;
    }
    const o = readObject(p, path, raw, [...autoSnapshotKeys]);
    const [hourly, daily, weekly, monthly] = autoSnapshotKeys.map((k) => readInt(p, o, path, k, 0, 10000, 0));
    return { hourly, daily, weekly, monthly };
}

export function parseListedStates(p: Problems, raw: unknown): Map<string, ListedState> {
    const states = new Map<string, ListedState>();
    for (const [name, value] of readMap(p, "states", raw)) {
        const path = `states.${name}`;
        const bad = nameProblem("state", name);
        if (bad) {
            p.add(path, bad);
            continue;
        }
        const o = readObject(p, path, value, stateKeys);
        const fromText = readString(p, o, path, "from");
        const snapshots = readStringList(p, o, path, "snapshots");
        snapshots.forEach((snap, i) => {
            const badSnap = nameProblem("snapshot", snap) ?? vmStateSnapshotProblem(snap);
            if (badSnap) {
                p.add(`${path}.snapshots[${i}]`, badSnap);
            } else if (snapshots.indexOf(snap) !== i) {
                p.add(`${path}.snapshots[${i}]`, `${shown(snap)} is listed twice; each snapshot name once`);
            }
        });
        const autoSnapshots = parseAutoSnapshots(p, `${path}.autoSnapshots`, o.autoSnapshots);
        states.set(name, {
            host: readString(p, o, path, "host"),
            replicate: parseReplication(p, `${path}.replicate`, o.replicate),
            from: fromText === undefined ? undefined : parseFrom(p, `${path}.from`, fromText),
            snapshots,
            onRemove: readChoice(p, o, path, "onRemove", ["retain", "destroy"] as const, "retain"),
            autoSnapshots,
        });
    }
    return states;
}

function checkAttachments(p: Problems, slots: readonly SlotConfig[]): Map<string, string> {
    const attachedTo = new Map<string, string>();
    for (const slot of slots) {
        const other = attachedTo.get(slot.state);
        if (other !== undefined) {
            p.add(
                `slots.${slot.name}.state`,
                `state ${shown(slot.state)} is already attached to slot ${other}; a state runs in at most one slot`,
            );
        } else {
            attachedTo.set(slot.state, slot.name);
        }
    }
    return attachedTo;
}

function checkSources(p: Problems, all: Map<string, ListedState>): void {
    for (const [name, state] of all) {
        const src = state.from;
        const origin = src ? all.get(src.state) : undefined;
        if (src && !origin) {
            p.add(
                `states.${name}.from`,
                `refers to state ${shown(src.state)}, which is not declared under states or as a slot`,
            );
        } else if (src?.snapshot !== undefined && !origin!.snapshots.includes(src.snapshot)) {
            p.add(
                `states.${name}.from`,
                `refers to snapshot ${shown(src.snapshot)} of state ${shown(src.state)}, which is not listed in states.${src.state}.snapshots`,
            );
        }
    }
}

/** Names in an order where each state comes after its source; reports cycles. */
function sourceOrder(p: Problems, all: Map<string, ListedState>): string[] {
    const ordered: string[] = [];
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, chain: string[]): void => {
        if (done.has(name)) {
            return;
        }
        if (visiting.has(name)) {
            const cycle = [...chain.slice(chain.indexOf(name)), name].join(" -> ");
            p.add(
                `states.${name}.from`,
                `states are cloned from each other in a cycle (${cycle}); a state cannot be its own source`,
            );
            return;
        }
        visiting.add(name);
        const src = all.get(name)?.from?.state;
        if (src !== undefined && all.has(src)) {
            visit(src, [...chain, name]);
        }
        visiting.delete(name);
        done.add(name);
        ordered.push(name);
    };
    for (const name of [...all.keys()].sort()) {
        visit(name, []);
    }
    return ordered;
}

/**
 * Every state (listed ones and each slot's own), ordered so each comes after the state it is
 * cloned from; reports references to unknown states and snapshots, and cycles.
 */
export function resolveStates(
    p: Problems,
    slots: readonly SlotConfig[],
    listed: Map<string, ListedState>,
    hosts: readonly FleetHost[],
): StateConfig[] {
    const attachedTo = checkAttachments(p, slots);
    const all = new Map<string, ListedState>(slots.map((s) => [s.name, { snapshots: [], onRemove: "retain" }]));
    for (const [name, state] of listed) {
        all.set(name, state);
    }
    for (const slot of slots) {
        if (!all.has(slot.state)) {
            p.add(
                `slots.${slot.name}.state`,
                `state ${shown(slot.state)} is not declared; declare it under states (states.${slot.state}: {}) or use a slot's own name`,
            );
        }
    }
    checkSources(p, all);
    const diskOf = new Map(slots.map((s) => [s.state, s.diskGiB]));
    const slotHostOf = new Map(slots.map((s) => [s.name, s.host]));
    const hostOf = new Map<string, string>();
    checkResourceNames(
        p,
        [...all].map(([name, st]) => ({ name, snapshots: [...new Set(st.snapshots)] })),
    );
    return sourceOrder(p, all).map((name): StateConfig => {
        const listedState = all.get(name)!;
        const slot = attachedTo.get(name);
        const host = placeState(
            p,
            name,
            listedState,
            slot === undefined ? undefined : slotHostOf.get(slot),
            slotHostOf.get(name),
            hostOf,
            hosts,
        );
        hostOf.set(name, host);
        if (listedState.autoSnapshots) {
            checkAutoSnapshots(p, name, host, hosts);
        }
        if (listedState.replicate) {
            checkReplication(p, name, host, listedState.replicate, hosts);
        }
        return { name, ...listedState, host, slot, diskGiB: diskOf.get(name) ?? slotDefaults.diskGiB };
    });
}

/**
 * Every state's resources (`<state>`, `<state>@<snapshot>`) and the former names they keep as
 * aliases (`<state>-state`, `<state>-snap-<snapshot>`: components/state/vmState.ts) share one
 * namespace: two of them alike would make the engine match one resource for another. State `x`
 * with snapshot `y-state` next to a state `x-snap-y` is such a pair; the later state is refused.
 */
function checkResourceNames(p: Problems, states: readonly { name: string; snapshots: readonly string[] }[]): void {
    const owner = new Map<string, string>();
    const claim = (name: string, what: string, state: string): void => {
        const other = owner.get(name);
        if (other !== undefined) {
            p.add(
                `states.${state}`,
                `its resources would be known by the name ${name}, which is already ${other}; rename this state (or that one)`,
            );
        } else {
            owner.set(name, what);
        }
    };
    const sorted = [...states].sort((a, b) => a.name.localeCompare(b.name));
    for (const s of sorted) {
        owner.set(stateResourceName(s.name), `state ${s.name}'s resource`);
        s.snapshots.forEach((snap) =>
            owner.set(snapshotResourceName(s.name, snap), `snapshot ${s.name}@${snap}'s resource`),
        );
    }
    for (const s of sorted) {
        claim(
            formerStateName(s.name),
            `the former name of state ${s.name}'s resource (kept as an alias for stacks made before the rename)`,
            s.name,
        );
        s.snapshots.forEach((snap) =>
            claim(
                formerSnapshotName(s.name, snap),
                `the former name of snapshot ${s.name}@${snap}'s resource (kept as an alias)`,
                s.name,
            ),
        );
    }
}

/** Scheduled snapshots are ZFS snapshots (sanoid): the backend of the state's own host decides. */
function checkAutoSnapshots(p: Problems, name: string, host: string, hosts: readonly FleetHost[]): void {
    const backend = hosts.find((h) => h.name === host)?.storage.backend;
    if (backend === undefined || backend === "zfs") {
        return;
    }
    const key = hosts.length > 1 ? `hosts.${host}.storage.backend` : "storage.backend";
    p.add(
        `states.${name}.autoSnapshots`,
        `needs ${key} "zfs", not "${backend}" (scheduled snapshots are ZFS snapshots taken by sanoid)`,
    );
}

/**
 * The host a state lives on: the host of the slot that runs it (an explicit `host` must agree),
 * else its own `host`, the host of the slot it belongs to (a slot's own state stays with its slot
 * when another state runs there), its source's, or the only host. Sources come first, so their
 * hosts are known. (A state is created where it lives: a new clone of a state on another host
 * fails there, naming the source; clone on the source's host, then move it. An existing state
 * whose slot moves to another host is moved, not created: VmState's placement.)
 */
function placeState(
    p: Problems,
    name: string,
    s: ListedState,
    slotHostName: string | undefined,
    ownSlotHost: string | undefined,
    hostOf: Map<string, string>,
    hosts: readonly FleetHost[],
): string {
    const sourceHost = s.from ? hostOf.get(s.from.state) : undefined;
    const host = slotHostName ?? stateHost(p, name, s.host, ownSlotHost ?? sourceHost, hosts);
    if (slotHostName !== undefined && s.host !== undefined && s.host !== slotHostName) {
        p.add(
            `states.${name}.host`,
            `is ${shown(s.host)}, but the slot that runs it is on ${slotHostName}; a state lives where its slot runs (remove states.${name}.host)`,
        );
    }
    return host;
}
