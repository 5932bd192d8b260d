/**
 * Builds `infra.json` (type: lib/deploymentData.ts) from the validated config and the topology.
 * Pure: the program passes in what only AWS knows (the state volume's device path) once it is known.
 */
import { createHash } from "crypto";
import { DeploymentData, DeploymentSlot, guestDataLabel, tailscaleAuthKeyFile, zfsPool } from "../lib/deploymentData";
import { StackConfig, usesStateVolume } from "./config";
import { SlotIdentity, Topology } from "./topology";

/** `networking.hostId` (8 hex digits) stable for a project and stack, so a replaced host imports its pool. */
export function hostIdFor(project: string, stack: string): string {
    return createHash("sha256").update(`${project}/${stack}`).digest("hex").slice(0, 8);
}

/**
 * The slot record the host gets: the identity without the state it runs (that is vm-state's map),
 * with the workload fields only where they differ from the defaults, so a stack that uses none
 * renders the same infra.json as before they existed.
 */
export function deploymentSlot(identity: SlotIdentity): DeploymentSlot {
    const { state: _runs, egress, publish, modules, ...slot } = identity;
    return {
        ...slot,
        ...(egress ? { egress } : {}),
        ...(publish.length > 0 ? { publish } : {}),
        ...(modules.length > 0 ? { modules } : {}),
    };
}

export function deploymentData(cfg: StackConfig, topo: Topology, hostId: string, stateDevice: string | undefined): DeploymentData {
    return {
        version: 1,
        host: {
            hostName: cfg.tailscale.hostname,
            hostId,
            adminUser: cfg.host.adminUser,
            sshPublicKeys: cfg.host.sshPublicKeys,
        },
        storage: {
            backend: cfg.storage.backend,
            pool: zfsPool,
            device: usesStateVolume(cfg.storage.backend) ? stateDevice ?? null : null,
            safetySnapshots: cfg.storage.safetySnapshots,
            autoSnapshots: cfg.states.flatMap((s) => (s.autoSnapshots ? [{ state: s.name, ...s.autoSnapshots }] : [])),
        },
        tailscale: {
            enabled: cfg.tailscale.enabled,
            hostname: cfg.tailscale.hostname,
            tags: cfg.tailscale.tags,
            authKeyFile: tailscaleAuthKeyFile,
            advertiseRoutes: cfg.tailscale.enabled ? topo.routes : [],
        },
        guest: { dataLabel: guestDataLabel },
        slots: topo.slots.map(deploymentSlot),
    };
}
