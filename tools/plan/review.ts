/**
 * A config change as a reviewer needs it: which config keys changed, what happens to each slot (is
 * it created, removed, does its VM restart and why) and each state (created, cloned, moved,
 * destroyed: data at risk), whether the host is replaced, what changes in security, what it costs,
 * and the resource counts. Built from two offline plans and the diff between them; rendered as
 * Markdown by `markdown.ts`. Pure and stable: everything sorted, nothing time-dependent.
 */
import { tailscaleSecretKeys } from "../../components/tailscale/credentials";
import { StateConfig } from "../../infra/config";
import { hostResourceName } from "../../infra/program";
import { awsSecretKeys, sshPrivateKeyKey } from "../../infra/stackConfig";
import { secretKind } from "../../lib/redact";
import { Cost, planCost, stateVolumeSpec } from "./cost";
import { commandsRun, PlanDiff } from "./diff";
import { observabilityReview } from "./observability";
import { hoursPerMonth, volumeUsdPerHour } from "../../infra/prices";
import { hostDowntime } from "./hostDowntime";
import { systemChanges } from "./restarts";
import { Plan } from "./run";
import { securityChanges } from "./security";

export type { Cost, CostLine } from "./cost";
export { hoursPerMonth } from "../../infra/prices";

export interface ConfigChange {
    readonly key: string;
    readonly change: "added" | "removed" | "changed";
    /** The values, unless `secret` or `notShown`. */
    readonly before?: string;
    readonly after?: string;
    /** A Pulumi secret: compared by digest, never decrypted. */
    readonly secret: boolean;
    /** Why a value in clear text is not shown either: a credential key, or what it looks like. */
    readonly notShown?: string;
}

/** Keys whose values are credentials: never shown, even when (wrongly) in clear text. */
const credentialKeys: readonly string[] = [...tailscaleSecretKeys, ...awsSecretKeys, sshPrivateKeyKey];

export interface SlotChange {
    readonly slot: string;
    readonly change: "created" | "removed" | "restarts" | "unchanged";
    readonly why: string[];
}

export interface StateChange {
    readonly state: string;
    readonly change:
        | "created"
        | "cloned"
        | "restored"
        | "moved"
        | "transferred"
        | "destroyed"
        | "forgotten"
        | "snapshotted"
        | "onRemove"
        | "re-created"
        | "source changed";
    readonly detail: string;
    /** Data is deleted for good. */
    readonly dataLoss: boolean;
}

/** What happens to one host (every host of a fleet is read, each on its own). */
export interface HostChange {
    readonly host: string;
    readonly change: "created" | "removed" | "replaced" | "kept";
    /** For a replacement: the input paths that force it. */
    readonly because: string[];
    /**
     * Its state volume: kept (and re-attached to a new instance), none (the files backend), created,
     * replaced, or deleted from the stack (retainOnDelete: AWS keeps it, and bills it).
     */
    readonly volume: "kept" | "none" | "created" | "replaced" | "deleted";
    /** What a volume the stack lets go of goes on costing per month (deleted only). */
    readonly retainedUsdPerMonth?: number;
    /** The deleted volume is `protect`ed: `pulumi up` stops instead of letting it go. */
    readonly volumeProtected?: boolean;
}

export interface Review {
    readonly stack: string;
    readonly config: ConfigChange[];
    readonly slots: SlotChange[];
    readonly states: StateChange[];
    readonly hosts: HostChange[];
    /** What the machines and volumes go through, and how long the VMs are down (hostDowntime.ts). */
    readonly hostNotes: readonly string[];
    readonly security: string[];
    /** What turning observability on, off or changing it adds or removes (tools/plan/observability.ts); empty when nothing. */
    readonly observability: string[];
    readonly cost: { readonly before: Cost; readonly after: Cost };
    readonly counts: {
        create: number;
        update: number;
        replace: number;
        delete: number;
        unchanged: number;
        commandsOnHost: number;
        commandsLocal: number;
    };
    readonly diff: PlanDiff;
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
    const leaves = (p: Plan) =>
        new Map([...Object.entries(p.stackFile.config)].flatMap(([k, v]) => [...flatten(k, v)]));
    const a = leaves(old);
    const b = leaves(next);
    const topSecret = (p: Plan, key: string) =>
        p.stackFile.secretKeys.find((k) => key === k || key.startsWith(`${k}.`));
    const changes: ConfigChange[] = [];
    for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
        const secret = topSecret(old, key) ?? topSecret(next, key);
        const before = a.get(key);
        const after = b.get(key);
        const looks = [before, after]
            .map((v) => (v === undefined ? undefined : secretKind(v)))
            .find((k) => k !== undefined);
        const notShown = secret
            ? undefined
            : credentialKeys.some((k) => key === k || key.startsWith(`${k}.`))
              ? "a credential, in clear text"
              : looks && `it looks like ${looks}`;
        const hide = Boolean(secret) || notShown !== undefined;
        const extra = { secret: Boolean(secret), ...(notShown ? { notShown } : {}) };
        if (before === undefined) {
            changes.push({ key, change: "added", ...(hide ? {} : { after }), ...extra });
        } else if (after === undefined) {
            changes.push({ key, change: "removed", ...(hide ? {} : { before }), ...extra });
        } else if (
            secret ? old.stackFile.secretDigests[secret] !== next.stackFile.secretDigests[secret] : before !== after
        ) {
            changes.push({ key, change: "changed", ...(hide ? {} : { before, after }), ...extra });
        }
    }
    return changes;
}

/** Each host of either plan, by name: created, removed, replaced (and why) or kept, and its state volume. */
function hostChanges(old: Plan, next: Plan, diff: PlanDiff): HostChange[] {
    const names = [...new Set([...old.config.hosts, ...next.config.hosts].map((h) => h.name))];
    const of = (p: Plan, type: string, name: string) => p.resources.find((r) => r.type === type && r.name === name);
    const has = (list: { urn: string }[], urn: string | undefined) =>
        urn !== undefined && list.some((c) => c.urn === urn);
    return names.map((host): HostChange => {
        const base = hostResourceName(host);
        const before = of(old, "aws:ec2/instance:Instance", `${base}-host`);
        const after = of(next, "aws:ec2/instance:Instance", `${base}-host`);
        const volumeBefore = of(old, "aws:ebs/volume:Volume", `${base}-state`);
        const volumeAfter = of(next, "aws:ebs/volume:Volume", `${base}-state`);
        const replaced = diff.replace.find((c) => c.urn === after?.urn);
        const volume = has(diff.delete, volumeBefore?.urn)
            ? "deleted"
            : !volumeAfter
              ? "none"
              : has(diff.replace, volumeAfter.urn)
                ? "replaced"
                : has(diff.create, volumeAfter.urn)
                  ? "created"
                  : "kept";
        const retained =
            volume === "deleted" && volumeBefore
                ? {
                      retainedUsdPerMonth:
                          Math.round(volumeUsdPerHour(stateVolumeSpec(volumeBefore)) * hoursPerMonth * 100) / 100,
                      ...(volumeBefore.options.protect ? { volumeProtected: true } : {}),
                  }
                : {};
        const change = !before ? "created" : !after ? "removed" : replaced ? "replaced" : "kept";
        return { host, change, because: replaced?.replaceBecause ?? [], volume, ...retained };
    });
}

/** `hostRestarts`: why every slot of a host restarts (replaced, or stopped and started in place), by host. */
function slotChanges(old: Plan, next: Plan, hostRestarts: Readonly<Record<string, string>>): SlotChange[] {
    const before = new Map(old.topology.slots.map((s) => [s.name, s]));
    const after = new Map(next.topology.slots.map((s) => [s.name, s]));
    const names = [...new Set([...before.keys(), ...after.keys()])];
    const index = (n: string) => (after.get(n) ?? before.get(n))!.index;
    return names
        .sort((x, y) => index(x) - index(y))
        .map((slot): SlotChange => {
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
                why.push(
                    ...systemChanges(slot, old.hostFiles[a.host] ?? old.files, next.hostFiles[b.host] ?? next.files),
                );
            }
            return { slot, change: why.length > 0 ? "restarts" : "unchanged", why };
        });
}

const originOf = (s: StateConfig): string =>
    s.from === undefined
        ? "empty"
        : s.from.snapshot === undefined
          ? s.from.state
          : `${s.from.state}@${s.from.snapshot}`;
const originText = (s: StateConfig): string => (s.from === undefined ? "nothing (an empty state)" : originOf(s));

/**
 * A new `from` replaces the state's resources (their trigger is the origin): the replacement
 * runs the old resource's delete first where it has one (onRemove: destroy when last applied),
 * then creates the state again from the new source. Without a delete, `--if-missing` finds the
 * state and nothing changes on the host.
 */
function recreation(old: Plan, diff: PlanDiff, a: StateConfig, b: StateConfig): StateChange {
    const resource = old.resources.find(
        (r) => r.type === "command:remote:Command" && r.name === a.name && r.parent.includes("VmState"),
    );
    const runs = diff.replace.find((c) => c.urn === resource?.urn)?.runs ?? [];
    const change = `from changes (${originText(a)} -> ${originText(b)})`;
    return runs.some((r) => r.startsWith("delete"))
        ? {
              state: b.name,
              change: "re-created",
              detail: `${change}: onRemove: destroy deletes the state and its snapshots, then makes it again from ${originText(b)}`,
              dataLoss: true,
          }
        : {
              state: b.name,
              change: "source changed",
              detail: `${change}: the state exists, so nothing happens to it (onRemove: retain: vm-state finds it and makes nothing)`,
              dataLoss: false,
          };
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
            changes.push(
                b.from === undefined
                    ? {
                          state: name,
                          change: "created",
                          detail: `new, empty (${b.diskGiB} GiB)${where}`,
                          dataLoss: false,
                      }
                    : b.from.snapshot === undefined
                      ? { state: name, change: "cloned", detail: `copy of ${b.from.state}${where}`, dataLoss: false }
                      : {
                            state: name,
                            change: "restored",
                            detail: `from snapshot ${b.from.state}@${b.from.snapshot}${where}`,
                            dataLoss: false,
                        },
            );
            continue;
        }
        if (a && !b) {
            // A delete runs the command recorded at the last `pulumi up`: the old onRemove decides.
            const resource = old.resources.find(
                (r) => r.type === "command:remote:Command" && r.name === name && r.parent.includes("VmState"),
            );
            const runs = resource ? (deletes.get(resource.urn)?.runs ?? []) : [];
            changes.push(
                runs.length > 0
                    ? {
                          state: name,
                          change: "destroyed",
                          detail: "onRemove: destroy: its data and snapshots are deleted on the host",
                          dataLoss: true,
                      }
                    : {
                          state: name,
                          change: "forgotten",
                          detail: "onRemove: retain: removed from the stack, its data stays on the host (vm-state delete to remove it)",
                          dataLoss: false,
                      },
            );
            continue;
        }
        if (a && b) {
            if (a.host !== b.host) {
                changes.push({
                    state: name,
                    change: "transferred",
                    detail: `from host ${a.host} to host ${b.host} (up to ${b.diskGiB} GiB: sent while its VM runs, then the VM stops for the last changes only; the copy on ${a.host} is kept hidden until the next apply)`,
                    dataLoss: false,
                });
            }
            if (a.slot !== b.slot) {
                const detail =
                    b.slot === undefined
                        ? `detached from ${a.slot}, kept`
                        : a.slot === undefined
                          ? `attached to ${b.slot}`
                          : `moved from ${a.slot} to ${b.slot}`;
                changes.push({ state: name, change: "moved", detail, dataLoss: false });
            }
            const snaps = b.snapshots.filter((s) => !a.snapshots.includes(s));
            if (snaps.length > 0) {
                changes.push({
                    state: name,
                    change: "snapshotted",
                    detail: `new snapshot${snaps.length > 1 ? "s" : ""} ${snaps.join(", ")}`,
                    dataLoss: false,
                });
            }
            if (originOf(a) !== originOf(b)) {
                changes.push(recreation(old, diff, a, b));
            }
            if (a.onRemove !== b.onRemove && b.onRemove === "destroy") {
                changes.push({
                    state: name,
                    change: "onRemove",
                    detail: "becomes destroy: removing it from the config later deletes its data",
                    dataLoss: false,
                });
            }
        }
    }
    return changes;
}

export function reviewChange(old: Plan, next: Plan, diff: PlanDiff): Review {
    const hosts = hostChanges(old, next, diff);
    const runs = commandsRun(diff);
    const observability = observabilityReview(
        old.config,
        next.config,
        Object.keys(old.stackFile.config),
        Object.keys(next.stackFile.config),
    );
    const machines = hostDowntime(old, next, diff);
    return {
        stack: next.stack,
        config: configChanges(old, next),
        slots: slotChanges(old, next, machines.restarts),
        states: stateChanges(old, next, diff),
        hosts,
        hostNotes: machines.notes,
        security: [...securityChanges(old, next, diff), ...observability.security].sort(),
        observability: observability.lines,
        cost: { before: planCost(old), after: planCost(next) },
        counts: {
            create: diff.create.length,
            update: diff.update.length,
            replace: diff.replace.length,
            delete: diff.delete.length,
            unchanged: diff.unchanged.length,
            commandsOnHost: runs.filter((c) => c.runs.some((x) => x.includes("on the host"))).length,
            commandsLocal: runs.filter((c) => c.runs.every((x) => x.includes("on your machine"))).length,
        },
        diff,
    };
}
