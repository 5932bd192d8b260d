/**
 * infra.json's `.fleet` (lib/deploymentData.ts `FleetData`, written by the program; absent in a
 * one-host stack), read and checked once for the fleet commands: every problem is an error (exit
 * 1) naming the file and the key, before any host is asked anything. Host names follow the
 * program's rule (lib/names.ts), so a name the program would refuse is refused here too.
 */
import { FleetData } from "../../../lib/deploymentData";
import { nameProblem } from "../../../lib/names";
import { HostConfig, StorageBackend } from "../config";
import { conflict, fail } from "../errors";
import { Layout } from "../layout";
import { Root } from "../root";
import { Run } from "../run";
import { shown } from "../text";

export interface FleetHost {
    readonly name: string;
    readonly address: string;
    readonly backend: StorageBackend;
}

export interface ReplicaKeep {
    readonly hourly: number;
    readonly daily: number;
    readonly weekly: number;
    readonly monthly: number;
}

export interface FleetReplica {
    readonly state: string;
    readonly from: string;
    readonly to: string;
    readonly keep: ReplicaKeep;
}

export interface FleetConfig {
    /** This host. */
    readonly self: FleetHost;
    /** Every host, this one included, in infra.json's order. */
    readonly hosts: readonly FleetHost[];
    readonly transferKeyFile: string;
    readonly replicas: readonly FleetReplica[];
}

/** A host's address: a DNS name or an IPv4/IPv6 literal, nothing ssh could read as an option. */
const addressPattern = /^[A-Za-z0-9][A-Za-z0-9.:-]*$/;
const maxAddressLength = 253;
/** The largest keep count (as `--keep-*`: five digits). */
export const maxKeep = 99999;
const keepKinds = ["hourly", "daily", "weekly", "monthly"] as const;
const families: Readonly<Record<StorageBackend, "files" | "zfs">> = { files: "files", xfs: "files", zfs: "zfs" };

type Raw<T> = { readonly [K in keyof T]?: unknown };
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const asText = (v: unknown): string => (typeof v === "string" ? v : (JSON.stringify(v) ?? "undefined"));

/** Files and xfs exchange states with each other (a file either way), zfs only with zfs. */
export function backendFamily(backend: StorageBackend): "files" | "zfs" {
    return families[backend];
}

/**
 * `.fleet` of CONFIG, checked: exit 4 when there is none (not part of a fleet), exit 1 naming the
 * key for anything the program would not have written. `backendOverride` is VM_STATE_BACKEND
 * (tests run one backend under another's config).
 */
export function readFleet(config: HostConfig, backendOverride?: string): FleetConfig {
    const path = config.path;
    const raw = config.document.fleet;
    if (raw === undefined || raw === null) {
        throw conflict(`${path} has no .fleet: this host is not part of a fleet (a one-host stack)`);
    }
    if (!isObject(raw)) {
        throw fail(`${path}: .fleet is not valid (an object expected)`);
    }
    const f = raw as Raw<FleetData>;
    if (!Array.isArray(f.hosts) || f.hosts.length === 0) {
        throw fail(`${path}: .fleet.hosts must be a list of hosts`);
    }
    const hosts: FleetHost[] = f.hosts.map((h: unknown, i: number) => {
        const key = `${path}: .fleet.hosts[${i}]`;
        if (!isObject(h)) {
            throw fail(`${key} must be an object {name, address, backend}`);
        }
        const name = asText(h.name ?? "");
        const problem = nameProblem("host", name);
        if (problem !== undefined) {
            throw fail(`${key}.name: ${problem}`);
        }
        const address = asText(h.address ?? "");
        if (!addressPattern.test(address) || address.length > maxAddressLength) {
            throw fail(
                `${key}.address: host ${name} has an invalid address ${shown(address)} (a DNS name or an IP address)`,
            );
        }
        const backend = asText(h.backend ?? "");
        if (!(backend in families)) {
            throw fail(`${key}.backend: host ${name} has an unknown backend ${shown(backend)}: use zfs, xfs or files`);
        }
        return { name, address, backend: backend as StorageBackend };
    });
    const seen = new Set<string>();
    for (const [i, h] of hosts.entries()) {
        if (seen.has(h.name)) {
            throw fail(`${path}: .fleet.hosts[${i}].name: host ${h.name} is listed twice`);
        }
        seen.add(h.name);
    }
    const selfName = asText(f.self ?? "");
    const self = hosts.find((h) => h.name === selfName);
    if (self === undefined) {
        throw fail(
            `${path}: .fleet.self ${shown(selfName)} is not one of .fleet.hosts (${hosts.map((h) => h.name).join(" ")})`,
        );
    }
    if (self.backend !== config.backend && backendOverride === undefined) {
        throw fail(
            `${path}: .fleet.hosts says ${self.name} uses ${self.backend}, .storage.backend says ${config.backend}`,
        );
    }
    const transferKeyFile = typeof f.transferKeyFile === "string" ? f.transferKeyFile : "";
    if (transferKeyFile === "") {
        throw fail(`${path}: .fleet.transferKeyFile must name the fleet's transfer key`);
    }
    const rawReplicas = f.replicas ?? [];
    if (!Array.isArray(rawReplicas)) {
        throw fail(`${path}: .fleet.replicas must be a list`);
    }
    const replicas = rawReplicas.map((r: unknown, i: number): FleetReplica => {
        const key = `${path}: .fleet.replicas[${i}]`;
        if (!isObject(r)) {
            throw fail(`${key} must be an object {state, from, to, every, keep}`);
        }
        const keepRaw = isObject(r.keep) ? r.keep : {};
        const keep = Object.fromEntries(
            keepKinds.map((kind) => {
                const n = keepRaw[kind] ?? 0;
                if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > maxKeep) {
                    throw fail(
                        `${key}.keep.${kind} must be a whole number from 0 to ${maxKeep}, got ${shown(asText(n))}`,
                    );
                }
                return [kind, n];
            }),
        ) as unknown as ReplicaKeep;
        return { state: asText(r.state ?? ""), from: asText(r.from ?? ""), to: asText(r.to ?? ""), keep };
    });
    return { self, hosts, transferKeyFile, replicas };
}

/** The configured keep counts of STATE replicated from this host to TO, or undefined. */
export function configuredKeep(fleet: FleetConfig, state: string, to: string): ReplicaKeep | undefined {
    return fleet.replicas.find((r) => r.state === state && r.from === fleet.self.name && r.to === to)?.keep;
}

/** A fleet change's exit status is recorded for `metrics` whatever stops it, a refusal before its root is opened included. */
export function recordRun(run: Run): void {
    run.operation = { layout: new Layout(new Root(run.env.root)) };
}
