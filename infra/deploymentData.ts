/**
 * Builds `infra.json` (type: lib/deploymentData.ts) from the validated config and the topology.
 * Pure: the program passes in what only AWS knows (the state volume's device path) once it is known.
 */
import { createHash } from "crypto";
import {
    DeploymentData,
    DeploymentSlot,
    FleetData,
    guestDataLabel,
    tailscaleAuthKeyFile,
    zfsPool,
} from "../lib/deploymentData";
import { FleetHost, StackConfig, usesStateVolume } from "./config";
import { observabilityData } from "./observabilityData";
import { SlotIdentity, Topology } from "./topology";

/** `networking.hostId` (8 hex digits) stable for a project and stack, so a replaced host imports its pool. */
export function hostIdFor(project: string, stack: string): string {
    return createHash("sha256").update(`${project}/${stack}`).digest("hex").slice(0, 8);
}

/**
 * The slot record the host gets: the identity without the state it runs (that is vm-state's map)
 * or the host it runs on (each host's file lists its own slots),
 * with the workload fields only where they differ from the defaults, so a stack that uses none
 * renders the same infra.json as before they existed.
 */
export function deploymentSlot(identity: SlotIdentity): DeploymentSlot {
    const { state: _runs, host: _on, egress, publish, modules, ...slot } = identity;
    return {
        ...slot,
        ...(egress ? { egress } : {}),
        ...(publish.length > 0 ? { publish } : {}),
        ...(modules.length > 0 ? { modules } : {}),
    };
}

/**
 * One host's `infra.json`: its own slots, routes and states' schedules, with `fleet` only in a
 * stack of several hosts (so a one-host stack renders exactly what it did before fleets), and
 * `observability` only when it is on (`alertWebhook`: the stack sets alertWebhookUrl).
 */
export function deploymentData(
    cfg: StackConfig,
    host: FleetHost,
    topo: Topology,
    hostId: string,
    stateDevice: string | undefined,
    fleet?: FleetData,
    alertWebhook = false,
): DeploymentData {
    const states = cfg.states.filter((s) => s.host === host.name);
    return {
        version: 1,
        host: {
            hostName: host.tailscaleHostname,
            hostId,
            adminUser: cfg.host.adminUser,
            sshPublicKeys: cfg.host.sshPublicKeys,
        },
        storage: {
            backend: host.storage.backend,
            pool: zfsPool,
            device: usesStateVolume(host.storage.backend) ? (stateDevice ?? null) : null,
            volumeGiB: usesStateVolume(host.storage.backend) ? host.storage.volumeGiB : null,
            safetySnapshots: host.storage.safetySnapshots,
            autoSnapshots: states.flatMap((s) => (s.autoSnapshots ? [{ state: s.name, ...s.autoSnapshots }] : [])),
            ...(host.fromSnapshot && usesStateVolume(host.storage.backend) ? { fromSnapshot: host.fromSnapshot } : {}),
        },
        tailscale: {
            enabled: cfg.tailscale.enabled,
            hostname: host.tailscaleHostname,
            tags: cfg.tailscale.tags,
            authKeyFile: tailscaleAuthKeyFile,
            advertiseRoutes: cfg.tailscale.enabled ? topo.routes : [],
        },
        guest: { dataLabel: guestDataLabel },
        slots: topo.slots.map(deploymentSlot),
        ...(fleet ? { fleet } : {}),
        ...(cfg.observability.enabled ? { observability: observabilityData(cfg, host.name, alertWebhook) } : {}),
    };
}

/** The replications of the whole fleet, as every host's infra.json lists them. */
export function fleetReplicas(cfg: StackConfig): FleetData["replicas"] {
    return cfg.states.flatMap((s) =>
        s.replicate
            ? [{ state: s.name, from: s.host, to: s.replicate.to, every: s.replicate.every, keep: s.replicate.keep }]
            : [],
    );
}
