/**
 * The stack config: typed, defaulted and validated in one place, before any resource is declared.
 * `parseStackConfig` is pure (a raw object in, a `StackConfig` out, or a `ConfigError` naming
 * every bad key); `infra/stackConfig.ts` feeds it from `pulumi.Config`.
 */
import { ipv4CidrsOverlap, isCidr, parseIpv4Cidr, ipv4CidrContains } from "./cidr";
import {
    ConfigError, Problems, RawObject, readBool, readChoice, readInt, readMap, readObject, readString, readStringList,
} from "./configReader";
import { isGravitonType, isMetalType, metalTypes, slotMemoryBudgetMiB } from "./instanceTypes";
import { checkSshPublicKey } from "./sshKey";
import { SlotInput } from "./topology";

export { ConfigError };

export const configNamespace = "microvm-infra";

export type StorageBackend = "zfs" | "files";
export type ConnectVia = "public" | "tailscale";
export type OnRemove = "retain" | "destroy";

export interface HostConfig {
    readonly instanceType: string;
    /** Pinned AMI id, or undefined to look up the newest official NixOS arm64 AMI. */
    readonly ami?: string;
    readonly rootVolumeGiB: number;
    readonly sshPublicKeys: readonly string[];
    readonly adminCidrs: readonly string[];
    readonly availabilityZone?: string;
    readonly adminUser: string;
    /** How Pulumi reaches the host over SSH: its public address, or its tailnet name. */
    readonly connectVia: ConnectVia;
}

export interface NetworkConfig {
    readonly vpcCidr: string;
    readonly subnetCidr: string;
}

export interface StorageConfig {
    readonly backend: StorageBackend;
    readonly volumeGiB: number;
    readonly volumeType: "gp3" | "io2";
    readonly iops?: number;
    readonly throughputMiBps?: number;
}

export interface TailscaleConfig {
    readonly enabled: boolean;
    readonly hostname: string;
    readonly tags: readonly string[];
    /** Manage the tailnet policy (autoApprovers, per-slot grants). Replaces the whole policy. */
    readonly managePolicy: boolean;
}

/** A slot as configured: name, index, the state it runs and its size (the topology's input). */
export type SlotConfig = SlotInput;

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
    readonly from?: StateSource;
    readonly snapshots: readonly string[];
    readonly onRemove: OnRemove;
    readonly autoSnapshots?: AutoSnapshots;
    /** The slot this state is attached to, if any. */
    readonly slot?: string;
    /** Size of a fresh image: the attached slot's `diskGiB`, or the default. */
    readonly diskGiB: number;
}

export interface StackConfig {
    readonly host: HostConfig;
    readonly network: NetworkConfig;
    readonly storage: StorageConfig;
    readonly tailscale: TailscaleConfig;
    /** Sorted by index. */
    readonly slots: readonly SlotConfig[];
    /** Sorted so that every state comes after the state it is cloned from. */
    readonly states: readonly StateConfig[];
}

export const defaults = {
    instanceType: "a1.metal",
    rootVolumeGiB: 64,
    adminUser: "admin",
    vpcCidr: "172.20.0.0/16",
    subnetCidr: "172.20.1.0/24",
    volumeGiB: 256,
    tailscaleHostname: "microvm-host",
    tailscaleTags: ["tag:microvm-host"],
    vcpu: 1,
    memMiB: 1024,
    diskGiB: 64,
} as const;

const topKeys = ["host", "network", "storage", "tailscale", "slots", "states", "sshPrivateKey"] as const;
const hostKeys = ["instanceType", "ami", "rootVolumeGiB", "sshPublicKeys", "adminCidrs", "availabilityZone", "adminUser", "connectVia"];
const networkKeys = ["vpcCidr", "subnetCidr"];
const storageKeys = ["backend", "volumeGiB", "volumeType", "iops", "throughputMiBps"];
const tailscaleKeys = ["enabled", "hostname", "tags", "managePolicy"];
const slotKeys = ["index", "state", "vcpu", "memMiB", "diskGiB"];
const stateKeys = ["from", "snapshots", "onRemove", "autoSnapshots"];
const autoSnapshotKeys = ["hourly", "daily", "weekly", "monthly"];

/** Longest slot name: `br-<slot>` and `vm-<slot>` must fit Linux's 15-character interface names. */
export const maxSlotNameLength = 12;
export const maxStateNameLength = 63;
const namePattern = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const nameRule = "lowercase letters, digits and '-', starting with a letter and not ending with '-'";

/** Why `name` is not a valid slot or state name, or undefined when it is. Internal; exported for testing. */
export function nameProblem(name: string, maxLength: number): string | undefined {
    if (!namePattern.test(name)) {
        return `must be ${nameRule}`;
    }
    if (name.length > maxLength) {
        return `must be at most ${maxLength} characters, got ${name.length}`;
    }
    return undefined;
}

/**
 * The top-level keys of the project namespace that are not known, from `pulumi.runtime.allConfig()`
 * style keys (`microvm-infra:host`). Other namespaces (aws:, tailscale:) belong to providers.
 */
export function unknownTopLevelKeys(keys: readonly string[]): string[] {
    const prefix = `${configNamespace}:`;
    return keys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)).filter((k) => !(topKeys as readonly string[]).includes(k));
}

function parseHost(p: Problems, raw: unknown): HostConfig {
    const o = readObject(p, "host", raw, hostKeys);
    const instanceType = readString(p, o, "host", "instanceType", defaults.instanceType);
    if (!metalTypes[instanceType]) {
        const supported = Object.keys(metalTypes).join(", ");
        const why = !isGravitonType(instanceType)
            ? "is not a Graviton (arm64) type"
            : !isMetalType(instanceType)
                ? "is not bare metal, and KVM needs a .metal type"
                : "is not a Graviton metal type microvm-infra knows";
        p.add("host.instanceType", `"${instanceType}" ${why}; valid types are ${supported}`);
    }
    const ami = readString(p, o, "host", "ami");
    if (ami !== undefined && !/^ami-[0-9a-f]{8}([0-9a-f]{9})?$/.test(ami)) {
        p.add("host.ami", `must be an AMI id like ami-0123456789abcdef0, got "${ami}"`);
    }
    const sshPublicKeys = readStringList(p, o, "host", "sshPublicKeys");
    if (sshPublicKeys.length === 0 && o.sshPublicKeys === undefined) {
        p.add("host.sshPublicKeys", "at least one SSH public key is required (the operators' keys for root and the admin user)");
    }
    sshPublicKeys.forEach((key, i) => {
        const problem = checkSshPublicKey(key);
        if (problem) {
            p.add(`host.sshPublicKeys[${i}]`, problem);
        }
    });
    const adminCidrs = readStringList(p, o, "host", "adminCidrs");
    adminCidrs.forEach((cidr, i) => {
        if (!isCidr(cidr)) {
            p.add(`host.adminCidrs[${i}]`, `must be an IPv4 or IPv6 CIDR such as 203.0.113.7/32, got "${cidr}"`);
        }
    });
    const availabilityZone = readString(p, o, "host", "availabilityZone");
    if (availabilityZone !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/.test(availabilityZone)) {
        p.add("host.availabilityZone", `must be an availability zone name such as us-east-1a, got "${availabilityZone}"`);
    }
    const adminUser = readString(p, o, "host", "adminUser", defaults.adminUser);
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(adminUser) || adminUser === "root") {
        p.add("host.adminUser", `must be a Linux user name other than root (lowercase, up to 32 characters), got "${adminUser}"`);
    }
    return {
        instanceType,
        ami,
        rootVolumeGiB: readInt(p, o, "host", "rootVolumeGiB", 20, 16384, defaults.rootVolumeGiB),
        sshPublicKeys,
        adminCidrs,
        availabilityZone,
        adminUser,
        connectVia: readChoice(p, o, "host", "connectVia", ["public", "tailscale"] as const, "public"),
    };
}

const slotSpace = parseIpv4Cidr("10.0.0.0/8")!;

function parseNetwork(p: Problems, raw: unknown): NetworkConfig {
    const o = readObject(p, "network", raw, networkKeys);
    const vpcCidr = readString(p, o, "network", "vpcCidr", defaults.vpcCidr);
    const subnetCidr = readString(p, o, "network", "subnetCidr", defaults.subnetCidr);
    const vpc = parseIpv4Cidr(vpcCidr);
    const subnet = parseIpv4Cidr(subnetCidr);
    if (!vpc || vpc.prefix < 16 || vpc.prefix > 28) {
        p.add("network.vpcCidr", `must be an IPv4 network CIDR with a prefix from /16 to /28, such as ${defaults.vpcCidr}, got "${vpcCidr}"`);
    } else if (ipv4CidrsOverlap(vpc, slotSpace)) {
        p.add("network.vpcCidr", `must not overlap 10.0.0.0/8, where the slots' 10.N.0.0/24 subnets live, got "${vpcCidr}"`);
    }
    if (!subnet) {
        p.add("network.subnetCidr", `must be an IPv4 network CIDR such as ${defaults.subnetCidr}, got "${subnetCidr}"`);
    } else if (vpc && !ipv4CidrContains(vpc, subnet)) {
        p.add("network.subnetCidr", `must lie inside network.vpcCidr (${vpcCidr}), got "${subnetCidr}"`);
    }
    return { vpcCidr, subnetCidr };
}

function parseStorage(p: Problems, raw: unknown): StorageConfig {
    const o = readObject(p, "storage", raw, storageKeys);
    const volumeType = readChoice(p, o, "storage", "volumeType", ["gp3", "io2"] as const, "gp3");
    const storage: StorageConfig = {
        backend: readChoice(p, o, "storage", "backend", ["zfs", "files"] as const, "zfs"),
        volumeGiB: readInt(p, o, "storage", "volumeGiB", 8, 16384, defaults.volumeGiB),
        volumeType,
        iops: volumeType === "gp3" ? readInt(p, o, "storage", "iops", 3000, 16000) : readInt(p, o, "storage", "iops", 100, 256000),
        throughputMiBps: readInt(p, o, "storage", "throughputMiBps", 125, 1000),
    };
    if (volumeType === "io2" && storage.iops === undefined) {
        p.add("storage.iops", `is required with storage.volumeType "io2" (100 to 256000)`);
    }
    if (volumeType === "io2" && storage.throughputMiBps !== undefined) {
        p.add("storage.throughputMiBps", `applies to gp3 only; remove it or set storage.volumeType to "gp3"`);
    }
    return storage;
}

function parseTailscale(p: Problems, raw: unknown): TailscaleConfig {
    const o = readObject(p, "tailscale", raw, tailscaleKeys);
    const enabled = readBool(p, o, "tailscale", "enabled", true);
    const hostname = readString(p, o, "tailscale", "hostname", defaults.tailscaleHostname);
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(hostname)) {
        p.add("tailscale.hostname", `must be a DNS label (lowercase letters, digits, '-', at most 63 characters), got "${hostname}"`);
    }
    const tags = o.tags === undefined ? [...defaults.tailscaleTags] : readStringList(p, o, "tailscale", "tags");
    tags.forEach((tag, i) => {
        if (!/^tag:[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(tag)) {
            p.add(`tailscale.tags[${i}]`, `must look like tag:name (letters, digits, '-'), got "${tag}"`);
        }
    });
    if (enabled && tags.length === 0) {
        p.add("tailscale.tags", "needs at least one tag: the host's auth key is tagged so the host is owned by the tailnet, not a person");
    }
    return { enabled, hostname, tags, managePolicy: readBool(p, o, "tailscale", "managePolicy", false) };
}

function slotIndexFromName(name: string): number | undefined {
    const m = /^slot([1-9]\d*)$/.exec(name);
    return m ? Number(m[1]) : undefined;
}

function parseSlots(p: Problems, raw: unknown): SlotConfig[] {
    const slots: SlotConfig[] = [];
    for (const [name, value] of readMap(p, "slots", raw)) {
        const path = `slots.${name}`;
        const bad = nameProblem(name, maxSlotNameLength);
        if (bad) {
            p.add(path, `slot name ${bad} (so br-${name} and vm-${name} fit Linux's 15-character interface names)`);
            continue;
        }
        const o = readObject(p, path, value, slotKeys);
        const implied = slotIndexFromName(name);
        const explicit = readInt(p, o, path, "index", 1, 254);
        let index = explicit ?? implied;
        if (implied !== undefined && (implied < 1 || implied > 254)) {
            p.add(path, `a slot named slotN has index N, and N must be from 1 to 254; rename the slot`);
            index = undefined;
        } else if (explicit !== undefined && implied !== undefined && explicit !== implied) {
            p.add(`${path}.index`, `${explicit} contradicts the name ${name}, whose index is ${implied}; remove index or rename the slot`);
            index = implied;
        } else if (index === undefined && o.index === undefined) {
            p.add(`${path}.index`, `is required: only slots named slotN (N from 1 to 254) get their index from the name`);
        }
        const state = readString(p, o, path, "state", name);
        if (state !== name) {
            const badState = nameProblem(state, maxStateNameLength);
            if (badState) {
                p.add(`${path}.state`, `state name ${badState}, got "${state}"`);
            }
        }
        slots.push({
            name,
            index: index ?? 0,
            state,
            vcpu: readInt(p, o, path, "vcpu", 1, 192, defaults.vcpu),
            memMiB: readInt(p, o, path, "memMiB", 128, 1048576, defaults.memMiB),
            diskGiB: readInt(p, o, path, "diskGiB", 1, 16384, defaults.diskGiB),
        });
    }
    const byIndex = new Map<number, string>();
    for (const slot of slots) {
        const other = byIndex.get(slot.index);
        if (slot.index !== 0 && other !== undefined) {
            p.add(`slots.${slot.name}.index`, `${slot.index} is already used by slot ${other}; every slot needs its own index from 1 to 254`);
        }
        byIndex.set(slot.index, slot.name);
    }
    if (slots.length === 0 && p.count === 0) {
        p.add("slots", "at least one slot is required, for example slots.slot1: {}");
    }
    return slots.sort((a, b) => a.index - b.index);
}

function parseFrom(p: Problems, path: string, text: string): StateSource | undefined {
    const [state, snapshot, ...rest] = text.split("@");
    const valid = rest.length === 0 && nameProblem(state, maxStateNameLength) === undefined
        && (snapshot === undefined || nameProblem(snapshot, maxStateNameLength) === undefined);
    if (!valid) {
        p.add(path, `must be a state name or state@snapshot, got "${text}"`);
        return undefined;
    }
    return { state, snapshot };
}

function parseAutoSnapshots(p: Problems, path: string, raw: unknown): AutoSnapshots | undefined {
    if (raw === undefined || raw === null) {
        return undefined;
    }
    const o = readObject(p, path, raw, autoSnapshotKeys);
    return {
        hourly: readInt(p, o, path, "hourly", 0, 10000, 0),
        daily: readInt(p, o, path, "daily", 0, 10000, 0),
        weekly: readInt(p, o, path, "weekly", 0, 10000, 0),
        monthly: readInt(p, o, path, "monthly", 0, 10000, 0),
    };
}

interface ListedState {
    readonly from?: StateSource;
    readonly snapshots: readonly string[];
    readonly onRemove: OnRemove;
    readonly autoSnapshots?: AutoSnapshots;
}

function parseListedStates(p: Problems, raw: unknown, backend: StorageBackend): Map<string, ListedState> {
    const states = new Map<string, ListedState>();
    for (const [name, value] of readMap(p, "states", raw)) {
        const path = `states.${name}`;
        const bad = nameProblem(name, maxStateNameLength);
        if (bad) {
            p.add(path, `state name ${bad}`);
            continue;
        }
        const o = readObject(p, path, value, stateKeys);
        const fromText = readString(p, o, path, "from");
        const snapshots = readStringList(p, o, path, "snapshots");
        snapshots.forEach((snap, i) => {
            const badSnap = nameProblem(snap, maxStateNameLength);
            if (badSnap) {
                p.add(`${path}.snapshots[${i}]`, `snapshot name ${badSnap}, got "${snap}"`);
            }
        });
        const autoSnapshots = parseAutoSnapshots(p, `${path}.autoSnapshots`, o.autoSnapshots);
        if (autoSnapshots && backend !== "zfs") {
            p.add(`${path}.autoSnapshots`, `needs storage.backend "zfs" (scheduled snapshots are ZFS snapshots taken by sanoid)`);
        }
        states.set(name, {
            from: fromText === undefined ? undefined : parseFrom(p, `${path}.from`, fromText),
            snapshots,
            onRemove: readChoice(p, o, path, "onRemove", ["retain", "destroy"] as const, "retain"),
            autoSnapshots,
        });
    }
    return states;
}

/** Orders states so each comes after its source; reports references to unknown states and cycles. */
function resolveStates(p: Problems, slots: readonly SlotConfig[], listed: Map<string, ListedState>): StateConfig[] {
    const attachedTo = new Map<string, string>();
    for (const slot of slots) {
        const other = attachedTo.get(slot.state);
        if (other !== undefined) {
            p.add(`slots.${slot.name}.state`, `state "${slot.state}" is already attached to slot ${other}; a state runs in at most one slot`);
        } else {
            attachedTo.set(slot.state, slot.name);
        }
    }
    const slotNames = new Set(slots.map((s) => s.name));
    const all = new Map<string, ListedState>();
    for (const name of slotNames) {
        all.set(name, { snapshots: [], onRemove: "retain" });
    }
    for (const [name, state] of listed) {
        all.set(name, state);
    }
    for (const slot of slots) {
        if (!all.has(slot.state)) {
            p.add(`slots.${slot.name}.state`, `state "${slot.state}" is not declared; declare it under states (states.${slot.state}: {}) or use a slot's own name`);
        }
    }
    for (const [name, state] of all) {
        const src = state.from;
        if (!src) {
            continue;
        }
        const origin = all.get(src.state);
        if (!origin) {
            p.add(`states.${name}.from`, `refers to state "${src.state}", which is not declared under states or as a slot`);
        } else if (src.snapshot !== undefined && !origin.snapshots.includes(src.snapshot)) {
            p.add(`states.${name}.from`, `refers to snapshot "${src.snapshot}" of state "${src.state}", which is not listed in states.${src.state}.snapshots`);
        }
    }
    const ordered: string[] = [];
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, chain: string[]): void => {
        if (done.has(name)) {
            return;
        }
        if (visiting.has(name)) {
            const cycle = [...chain.slice(chain.indexOf(name)), name].join(" -> ");
            p.add(`states.${name}.from`, `states are cloned from each other in a cycle (${cycle}); a state cannot be its own source`);
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
    const diskOf = new Map(slots.map((s) => [s.state, s.diskGiB]));
    return ordered.map((name) => {
        const s = all.get(name)!;
        return {
            name,
            from: s.from,
            snapshots: s.snapshots,
            onRemove: s.onRemove,
            autoSnapshots: s.autoSnapshots,
            slot: attachedTo.get(name),
            diskGiB: diskOf.get(name) ?? defaults.diskGiB,
        };
    });
}

function checkCapacity(p: Problems, instanceType: string, slots: readonly SlotConfig[]): void {
    const type = metalTypes[instanceType];
    if (!type) {
        return;
    }
    const budget = slotMemoryBudgetMiB(type);
    const total = slots.reduce((sum, s) => sum + s.memMiB, 0);
    if (total > budget) {
        const fits = Object.entries(metalTypes).filter(([, t]) => slotMemoryBudgetMiB(t) >= total).map(([n]) => n);
        const hint = fits.length > 0 ? ` or choose a larger host.instanceType (${fits.slice(0, 3).join(", ")})` : "";
        p.add("slots", `the slots' memory adds up to ${total} MiB, but ${instanceType} has ${type.memoryGiB} GiB and leaves ${budget} MiB for slots after the host's share; lower slots.<name>.memMiB${hint}`);
    }
    for (const slot of slots) {
        if (slot.vcpu > type.vcpu) {
            p.add(`slots.${slot.name}.vcpu`, `${slot.vcpu} is more than the ${type.vcpu} vCPUs of ${instanceType}`);
        }
    }
}

function checkWayIn(p: Problems, host: HostConfig, tailscale: TailscaleConfig): void {
    if (host.connectVia === "public" && host.adminCidrs.length === 0) {
        p.add("host.adminCidrs", `is empty, so Pulumi has no way to reach the host over SSH: add the CIDR you deploy from (pulumi config set --path 'host.adminCidrs[0]' 203.0.113.7/32), or, once the host has joined the tailnet, set host.connectVia to "tailscale"`);
    }
    if (host.connectVia === "tailscale" && !tailscale.enabled) {
        p.add("host.connectVia", `is "tailscale" but tailscale.enabled is false; set host.connectVia to "public" (with host.adminCidrs) or enable Tailscale`);
    }
}

/**
 * Validates and defaults the project's config. `raw` holds the namespace's keys without the
 * prefix (`{ host: {...}, slots: {...} }`); `allKeys` are every config key of the stack
 * (`microvm-infra:host`, `aws:region`) so that a typo at the top level is reported too.
 */
export function parseStackConfig(raw: RawObject, allKeys: readonly string[] = []): StackConfig {
    const p = new Problems();
    for (const key of unknownTopLevelKeys(allKeys)) {
        p.add(key, `unknown key in ${configNamespace}; valid keys are ${topKeys.join(", ")}`);
    }
    const host = parseHost(p, raw.host);
    const network = parseNetwork(p, raw.network);
    const storage = parseStorage(p, raw.storage);
    const tailscale = parseTailscale(p, raw.tailscale);
    const slots = parseSlots(p, raw.slots);
    const listed = parseListedStates(p, raw.states, storage.backend);
    const states = resolveStates(p, slots, listed);
    checkCapacity(p, host.instanceType, slots);
    checkWayIn(p, host, tailscale);
    p.throwIfAny();
    return { host, network, storage, tailscale, slots, states };
}
