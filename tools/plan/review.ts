/**
 * A config change as a reviewer needs it: which config keys changed, what happens to each slot (is
 * it created, removed, does its VM restart and why) and each state (created, cloned, moved,
 * destroyed: data at risk), whether the host is replaced, what changes in security, what it costs,
 * and the resource counts. Built from two offline plans and the diff between them; rendered as
 * Markdown by `markdown.ts`. Pure and stable: everything sorted, nothing time-dependent.
 */
import { metalTypes } from "../../infra/instanceTypes";
import { commandsRun, PlanDiff } from "./diff";
import { hostDowntime } from "./hostDowntime";
import { PlannedResource } from "./mockRuntime";
import { systemChanges } from "./restarts";
import { Plan } from "./run";

export interface ConfigChange {
    readonly key: string;
    readonly change: "added" | "removed" | "changed";
    readonly before?: string;
    readonly after?: string;
    readonly secret: boolean;
}

export interface SlotChange {
    readonly slot: string;
    readonly change: "created" | "removed" | "restarts" | "unchanged";
    readonly why: string[];
}

export interface StateChange {
    readonly state: string;
    readonly change: "created" | "cloned" | "restored" | "moved" | "transferred" | "destroyed" | "forgotten" | "snapshotted" | "onRemove";
    readonly detail: string;
    /** Data is deleted for good. */
    readonly dataLoss: boolean;
}

export interface Cost {
    readonly instanceType: string;
    readonly usdPerHour: number;
    readonly usdPerMonth: number;
}

export interface Review {
    readonly stack: string;
    readonly config: ConfigChange[];
    readonly slots: SlotChange[];
    readonly states: StateChange[];
    readonly host: {
        readonly replaced: boolean; readonly because: string[]; readonly volume: "kept" | "none" | "replaced" | "deleted";
        /** What the machines and volumes go through, and how long the VMs are down (hostDowntime.ts). */
        readonly notes: readonly string[];
    };
    readonly security: string[];
    readonly cost: { readonly before: Cost; readonly after: Cost };
    readonly counts: { create: number; update: number; replace: number; delete: number; unchanged: number; commandsOnHost: number; commandsLocal: number };
    readonly diff: PlanDiff;
}

/** Hours in an average month (AWS's own figure for monthly estimates). */
export const hoursPerMonth = 730;

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

function cost(plan: Plan): Cost {
    const type = plan.config.host.instanceType;
    const perHour = metalTypes[type]?.usdPerHour ?? NaN;
    return { instanceType: type, usdPerHour: perHour, usdPerMonth: round(perHour * hoursPerMonth, 2) };
}

/** Leaf paths of a stack file's keys (objects flattened: `microvm-infra:slots.slot6.memMiB`). */
function flatten(key: string, text: string): Map<string, string> {
    const out = new Map<string, string>();
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        value = text;
    }
    const walk = (path: string, v: unknown): void => {
        if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) {
            for (const [k, x] of Object.entries(v)) {
                walk(`${path}.${k}`, x);
            }
        } else {
            out.set(path, typeof v === "string" ? v : JSON.stringify(v));
        }
    };
    walk(key, value);
    return out;
}

function configChanges(old: Plan, next: Plan): ConfigChange[] {
    const leaves = (p: Plan) => new Map([...Object.entries(p.stackFile.config)].flatMap(([k, v]) => [...flatten(k, v)]));
    const a = leaves(old);
    const b = leaves(next);
    const topSecret = (p: Plan, key: string) => p.stackFile.secretKeys.find((k) => key === k || key.startsWith(`${k}.`));
    const changes: ConfigChange[] = [];
    for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
        const secret = topSecret(old, key) ?? topSecret(next, key);
        const before = a.get(key);
        const after = b.get(key);
        if (before === undefined) {
            changes.push({ key, change: "added", after: secret ? undefined : after, secret: Boolean(secret) });
        } else if (after === undefined) {
            changes.push({ key, change: "removed", before: secret ? undefined : before, secret: Boolean(secret) });
        } else if (secret ? old.stackFile.secretDigests[secret] !== next.stackFile.secretDigests[secret] : before !== after) {
            changes.push({ key, change: "changed", ...(secret ? {} : { before, after }), secret: Boolean(secret) });
        }
    }
    return changes;
}

const instanceOf = (plan: Plan) => plan.resources.find((r) => r.type === "aws:ec2/instance:Instance");

/** `hostRestarts`: why every slot of a host restarts (replaced, or stopped and started in place), by host. */
function slotChanges(old: Plan, next: Plan, hostRestarts: Readonly<Record<string, string>>): SlotChange[] {
    const before = new Map(old.topology.slots.map((s) => [s.name, s]));
    const after = new Map(next.topology.slots.map((s) => [s.name, s]));
    const names = [...new Set([...before.keys(), ...after.keys()])];
    const index = (n: string) => (after.get(n) ?? before.get(n))!.index;
    return names.sort((x, y) => index(x) - index(y)).map((slot): SlotChange => {
        const a = before.get(slot);
        const b = after.get(slot);
        if (!a) {
            return { slot, change: "created", why: [`new slot ${b!.subnet}, runs state ${b!.state}`] };
        }
        if (!b) {
            return { slot, change: "removed", why: [`its VM stops; state ${a.state} is kept (not attached)`] };
        }
        const why: string[] = [];
        if (hostRestarts[b.host]) {
            why.push(hostRestarts[b.host]);
        }
        if (a.state !== b.state) {
            why.push(`runs state ${b.state} instead of ${a.state}`);
        }
        if (a.host !== b.host) {
            why.push(`moves from host ${a.host} to host ${b.host}`);
        } else {
            why.push(...systemChanges(slot, old.hostFiles[a.host] ?? old.files, next.hostFiles[b.host] ?? next.files));
        }
        return { slot, change: why.length > 0 ? "restarts" : "unchanged", why };
    });
}

function stateChanges(old: Plan, next: Plan, diff: PlanDiff): StateChange[] {
    const before = new Map(old.config.states.map((s) => [s.name, s]));
    const after = new Map(next.config.states.map((s) => [s.name, s]));
    const deletes = new Map(diff.delete.map((c) => [c.urn, c]));
    const changes: StateChange[] = [];
    for (const name of [...new Set([...before.keys(), ...after.keys()])].sort()) {
        const a = before.get(name);
        const b = after.get(name);
        if (!a && b) {
            const where = b.slot ? `, runs in ${b.slot}` : ", not attached to a slot";
            changes.push(b.from === undefined
                ? { state: name, change: "created", detail: `new, empty (${b.diskGiB} GiB)${where}`, dataLoss: false }
                : b.from.snapshot === undefined
                    ? { state: name, change: "cloned", detail: `copy of ${b.from.state}${where}`, dataLoss: false }
                    : { state: name, change: "restored", detail: `from snapshot ${b.from.state}@${b.from.snapshot}${where}`, dataLoss: false });
            continue;
        }
        if (a && !b) {
            // A delete runs the command recorded at the last `pulumi up`: the old onRemove decides.
            const resource = old.resources.find((r) => r.type === "command:remote:Command" && r.name === name && r.parent.includes("VmState"));
            const runs = resource ? deletes.get(resource.urn)?.runs ?? [] : [];
            changes.push(runs.length > 0
                ? { state: name, change: "destroyed", detail: "onRemove: destroy: its data and snapshots are deleted on the host", dataLoss: true }
                : { state: name, change: "forgotten", detail: "onRemove: retain: removed from the stack, its data stays on the host (vm-state delete to remove it)", dataLoss: false });
            continue;
        }
        if (a && b) {
            if (a.host !== b.host) {
                changes.push({
                    state: name, change: "transferred",
                    detail: `from host ${a.host} to host ${b.host} (up to ${b.diskGiB} GiB: sent while its VM runs, then the VM stops for the last changes only; the copy on ${a.host} is kept hidden until the next apply)`,
                    dataLoss: false,
                });
            }
            if (a.slot !== b.slot) {
                const detail = b.slot === undefined ? `detached from ${a.slot}, kept` : a.slot === undefined ? `attached to ${b.slot}` : `moved from ${a.slot} to ${b.slot}`;
                changes.push({ state: name, change: "moved", detail, dataLoss: false });
            }
            const snaps = b.snapshots.filter((s) => !a.snapshots.includes(s));
            if (snaps.length > 0) {
                changes.push({ state: name, change: "snapshotted", detail: `new snapshot${snaps.length > 1 ? "s" : ""} ${snaps.join(", ")}`, dataLoss: false });
            }
            if (a.onRemove !== b.onRemove && b.onRemove === "destroy") {
                changes.push({ state: name, change: "onRemove", detail: "becomes destroy: removing it from the config later deletes its data", dataLoss: false });
            }
        }
    }
    return changes;
}

const SECURITY_TYPES: Record<string, string> = {
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "inbound",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "outbound",
    "aws:ec2/securityGroup:SecurityGroup": "security group",
    "aws:iam/role:Role": "IAM role",
    "aws:iam/rolePolicy:RolePolicy": "IAM policy",
    "aws:iam/instanceProfile:InstanceProfile": "IAM instance profile",
    "tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes": "tailnet routes",
    "tailscale:index/acl:Acl": "tailnet policy",
    "tailscale:index/deviceTags:DeviceTags": "tailnet tags",
    "aws:ec2/keyPair:KeyPair": "first-boot SSH key",
};

function securityChanges(old: Plan, next: Plan, diff: PlanDiff): string[] {
    const find = (p: Plan, urn: string) => p.resources.find((r) => r.urn === urn);
    const describe = (r: PlannedResource | undefined) => String(r?.inputs.description ?? r?.name ?? "");
    const lines: string[] = [];
    const rule = (what: string, r: PlannedResource | undefined) => {
        const cidr = String(r?.inputs.cidrIpv4 ?? r?.inputs.cidrIpv6 ?? "");
        return `${what}: ${describe(r)}${cidr && !describe(r).includes(cidr) ? ` (${cidr})` : ""}`;
    };
    for (const c of diff.create.filter((x) => SECURITY_TYPES[x.type])) {
        const r = find(next, c.urn);
        lines.push(c.type.includes("securityGroup") && c.type.includes("Rule") ? rule(`opens ${SECURITY_TYPES[c.type]}`, r) : `new ${SECURITY_TYPES[c.type]}: ${r?.name}`);
    }
    for (const c of diff.delete.filter((x) => SECURITY_TYPES[x.type])) {
        const r = find(old, c.urn);
        lines.push(c.type.includes("securityGroup") && c.type.includes("Rule") ? rule(`closes ${SECURITY_TYPES[c.type]}`, r) : `removed ${SECURITY_TYPES[c.type]}: ${r?.name}`);
    }
    for (const c of [...diff.update, ...diff.replace].filter((x) => SECURITY_TYPES[x.type])) {
        const a = find(old, c.urn);
        const b = find(next, c.urn);
        if (c.type === "tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes") {
            const ra = (a?.inputs.routes as string[] | undefined) ?? [];
            const rb = (b?.inputs.routes as string[] | undefined) ?? [];
            const added = rb.filter((x) => !ra.includes(x)).map((x) => `+${x}`);
            const removed = ra.filter((x) => !rb.includes(x)).map((x) => `-${x}`);
            lines.push(`tailnet routes: ${[...added, ...removed].join(", ") || "re-approved on a new device"}`);
        } else {
            lines.push(`${SECURITY_TYPES[c.type]} ${b?.name} changes (${c.paths.join(", ")})`);
        }
    }
    return lines.sort();
}

export function reviewChange(old: Plan, next: Plan, diff: PlanDiff): Review {
    const instance = instanceOf(next);
    const replacedInstance = diff.replace.find((c) => instance && c.urn === instance.urn);
    const volume = next.resources.find((r) => r.type === "aws:ebs/volume:Volume");
    const volumeState = !volume ? "none"
        : diff.replace.some((c) => c.urn === volume.urn) ? "replaced"
            : diff.delete.some((c) => c.type === "aws:ebs/volume:Volume") ? "deleted" : "kept";
    const runs = commandsRun(diff);
    const machines = hostDowntime(old, next, diff);
    return {
        stack: next.stack,
        config: configChanges(old, next),
        slots: slotChanges(old, next, machines.restarts),
        states: stateChanges(old, next, diff),
        host: { replaced: replacedInstance !== undefined, because: replacedInstance?.replaceBecause ?? [], volume: volumeState, notes: machines.notes },
        security: securityChanges(old, next, diff),
        cost: { before: cost(old), after: cost(next) },
        counts: {
            create: diff.create.length, update: diff.update.length, replace: diff.replace.length, delete: diff.delete.length, unchanged: diff.unchanged.length,
            commandsOnHost: runs.filter((c) => c.runs.some((x) => x.includes("on the host"))).length,
            commandsLocal: runs.filter((c) => c.runs.every((x) => x.includes("on your machine"))).length,
        },
        diff,
    };
}
