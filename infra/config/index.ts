/**
 * The stack config: typed, defaulted and validated before any resource is declared, one file per
 * concern (host, network, storage, tailscale, slots, states). `parseStackConfig` is pure: a raw
 * object in, a `StackConfig` out, or a `ConfigError` naming every bad key at once;
 * `infra/stackConfig.ts` feeds it from `pulumi.Config`.
 */
import { resolve } from "path";
import { normaliseCidrs } from "./cidrs";
import { checkWayIn, HostConfig, parseHost } from "./host";
import { unknownKeyProblems } from "./keys";
import { NetworkConfig, parseNetwork } from "./network";
import { Problems, RawObject } from "./reader";
import { secretShapedProblems } from "./secretShaped";
import { checkCapacity, parseSlots, SlotConfig } from "./slots";
import { parseListedStates, resolveStates, StateConfig } from "./states";
import { Backups, parseBackups, parseStorage, StorageConfig, usesStateVolume } from "./storage";
import { FleetHost, parseHosts } from "./fleet";
import {
    checkObservabilityDisk,
    ObservabilityConfig,
    observabilityReserveMiB,
    parseObservability,
} from "./observability";
import { parseTailscale, TailscaleConfig } from "./tailscale";

export { ConfigError } from "./reader";
export type { RawObject } from "./reader";
export { configNamespace, structuredKeys } from "./keys";
export type { ConnectVia, HostConfig } from "./host";
export type { NetworkConfig } from "./network";
export type { Backups, SafetySnapshots, StorageBackend, StorageConfig } from "./storage";
export type { FleetHost, Replication } from "./fleet";
export { primaryHost } from "./fleet";
export { usesStateVolume } from "./storage";
export type { TailscaleConfig } from "./tailscale";
export type { SlotConfig } from "./slots";
export type { Egress, PublishedPort, Workload } from "./workloads";
export type { AutoSnapshots, OnRemove, StateConfig, StateSource } from "./states";
export type { ObservabilityConfig } from "./observability";

export interface StackConfig {
    /** What every host shares, and the machine defaults. */
    readonly host: HostConfig;
    /** The hosts, `main` first: one, named `main`, unless the stack lists `hosts`. */
    readonly hosts: readonly FleetHost[];
    /** EBS snapshots of the state volumes (Data Lifecycle Manager), fleet-wide. */
    readonly backups?: Backups;
    readonly network: NetworkConfig;
    readonly storage: StorageConfig;
    readonly tailscale: TailscaleConfig;
    /** Sorted by index. */
    readonly slots: readonly SlotConfig[];
    /** Sorted so that every state comes after the state it is cloned from. */
    readonly states: readonly StateConfig[];
    /** Metrics, logs, alerts and dashboards (off by default). */
    readonly observability: ObservabilityConfig;
}

/**
 * Validates and defaults the project's config. `raw` holds the namespace's keys without the
 * prefix (`{ host: {...}, slots: {...} }`); `allKeys` are every config key of the stack
 * (`microvm-infra:host`, `aws:region`) so that a typo at the top level or in a namespace is
 * reported too.
 */
/** The NixOS flake the config's guest modules are checked against. */
export const defaultNixosDir = resolve(__dirname, "../../nixos");

export function parseStackConfig(
    raw: RawObject,
    allKeys: readonly string[] = [],
    nixosDir: string = defaultNixosDir,
): StackConfig {
    const p = new Problems();
    for (const line of [...unknownKeyProblems(allKeys), ...secretShapedProblems(raw)]) {
        p.addLine(line);
    }
    const parsedHost = parseHost(p, raw.host);
    const network = parseNetwork(p, raw.network);
    const storage = parseStorage(p, raw.storage, "storage", undefined, ["backups"]);
    const backups = parseBackups(p, (raw.storage as RawObject | undefined)?.backups);
    const tailscale = parseTailscale(p, raw.tailscale);
    const hosts = parseHosts(p, raw.hosts, parsedHost, storage, tailscale, network);
    const { host, slots } = normaliseCidrs(p, parsedHost, parseSlots(p, raw.slots, nixosDir, hosts));
    const states = resolveStates(p, slots, parseListedStates(p, raw.states), hosts);
    const observability = parseObservability(p, raw.observability, hosts, tailscale);
    checkCapacity(p, hosts, slots, (host) => observabilityReserveMiB(observability, host));
    checkObservabilityDisk(p, observability, hosts);
    if (backups && hosts.length > 0 && !hosts.some((h) => usesStateVolume(h.storage.backend))) {
        p.add(
            "storage.backups",
            `snapshots the hosts' state volumes, but no host has one (storage.backend "files" keeps the states on the root disk); remove storage.backups, or use "zfs" or "xfs"`,
        );
    }
    checkWayIn(p, host, hosts, tailscale.enabled);
    p.throwIfAny();
    return { host, hosts, backups, network, storage, tailscale, slots, states, observability };
}
