/**
 * `infra.json`, the deployment data that the NixOS flake and `vm-state` read
 * (docs/deployment-data.md). Pure: the program passes in what only AWS knows (the state volume's
 * device path) once it is known.
 */
import { createHash } from "crypto";
import { StackConfig } from "./config";
import { Topology } from "./topology";

export const tailscaleAuthKeyFile = "/var/lib/microvm-infra/secrets/tailscale-auth-key";
export const zfsPool = "microvms";
export const guestDataLabel = "vmstate";

export interface DeploymentData {
    readonly version: 1;
    readonly host: {
        readonly hostName: string;
        readonly hostId: string;
        readonly adminUser: string;
        readonly sshPublicKeys: readonly string[];
    };
    readonly storage: {
        readonly backend: "zfs" | "files";
        readonly pool: string;
        readonly device: string | null;
        readonly autoSnapshots: readonly { state: string; hourly: number; daily: number; weekly: number; monthly: number }[];
    };
    readonly tailscale: {
        readonly enabled: boolean;
        readonly hostname: string;
        readonly tags: readonly string[];
        readonly authKeyFile: string;
        readonly advertiseRoutes: readonly string[];
    };
    readonly guest: { readonly dataLabel: string };
    readonly slots: readonly {
        name: string; index: number; subnet: string; prefixLength: number; gateway: string; address: string;
        bridge: string; tap: string; mac: string; vcpu: number; memMiB: number; diskGiB: number;
    }[];
}

/** `networking.hostId` (8 hex digits) stable for a project and stack, so a replaced host imports its pool. */
export function hostIdFor(project: string, stack: string): string {
    return createHash("sha256").update(`${project}/${stack}`).digest("hex").slice(0, 8);
}

/** The by-id path under which an attached EBS volume appears on a Nitro instance. */
export function ebsDevicePath(volumeId: string): string {
    return `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`;
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
            device: cfg.storage.backend === "zfs" ? stateDevice ?? null : null,
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
        slots: topo.slots.map((s) => ({
            name: s.name, index: s.index, subnet: s.subnet, prefixLength: s.prefixLength, gateway: s.gateway,
            address: s.address, bridge: s.bridge, tap: s.tap, mac: s.mac, vcpu: s.vcpu, memMiB: s.memMiB, diskGiB: s.diskGiB,
        })),
    };
}

/** The file's text: stable key order, two-space indent, trailing newline (the bundle hash depends on it). */
export function renderDeploymentData(data: DeploymentData): string {
    return `${JSON.stringify(data, null, 2)}\n`;
}
