/**
 * The shape of `infra.json`, the deployment data that the NixOS flake and `vm-state` read
 * (docs/deployment-data.md), and the fixed names in it. The program builds it
 * (infra/deploymentData.ts); nothing on the host recomputes what is in it.
 */
import { ObservabilityData } from "./observabilityData";

export const tailscaleAuthKeyFile = "/var/lib/microvm-infra/secrets/tailscale-auth-key";
/** The fleet's transfer key (private half), on every host of a multi-host stack. */
export const fleetTransferKeyFile = "/var/lib/microvm-infra/secrets/fleet-transfer-key";
export const zfsPool = "microvms";
/**
 * `storage.backend`: `zfs`, a pool on the state volume (checksums, atomic snapshots, send/receive);
 * `xfs`, the state volume formatted XFS with reflinks (instant copies, no kernel module to keep in
 * step); `files`, plain files on the root disk (no state volume; copies are full copies).
 */
export type StorageBackend = "zfs" | "xfs" | "files";
export const storageBackends: readonly StorageBackend[] = ["zfs", "xfs", "files"];
export const guestDataLabel = "vmstate";
/** Safety snapshots kept per state (`storage.safetySnapshots`): the program's default, and vm-state's when infra.json has none. */
export const safetySnapshotDefaults = { keep: 5, maxAgeDays: 30 } as const;
export const safetySnapshotLimits = { keep: { min: 1, max: 1000 }, maxAgeDays: { min: 1, max: 3650 } } as const;
/** A fresh state's image in GiB: a slot's `diskGiB` in the stack config, `vm-state create --size-gib` on the host. */
export const stateSizeGiB = { min: 1, max: 16384, default: 64 } as const;

/** A slot's network identity (infra/topology.ts computes it from the slot's index and name). */
export interface SlotNetwork {
    readonly subnet: string;
    readonly prefixLength: number;
    readonly gateway: string;
    readonly address: string;
    readonly bridge: string;
    readonly tap: string;
    readonly mac: string;
}

/** A slot as the host sees it: its network identity and size. The state it runs is not here (vm-state apply). */
export interface DeploymentSlot extends SlotNetwork {
    readonly name: string;
    readonly index: number;
    readonly vcpu: number;
    readonly memMiB: number;
    readonly diskGiB: number;
    /** Absent: "internet". */
    readonly egress?: { readonly policy: string; readonly domains?: readonly string[] };
    /** Absent: none. */
    readonly publish?: readonly {
        readonly port: number;
        readonly to: string;
        readonly hostPort?: number;
        readonly sources?: readonly string[];
    }[];
    /** Absent: none. `guests/<name>` or `<input>[#<module>]`. */
    readonly modules?: readonly string[];
}

export interface DeploymentData {
    readonly version: 1;
    readonly host: {
        readonly hostName: string;
        readonly hostId: string;
        readonly adminUser: string;
        readonly sshPublicKeys: readonly string[];
    };
    readonly storage: {
        readonly backend: string;
        readonly pool: string;
        readonly device: string | null;
        /**
         * The state volume's size in GiB (null without one): a bigger one than the pool or
         * filesystem has is grown into at the switch (nixos/scripts/state-*-setup --size-gib).
         */
        readonly volumeGiB: number | null;
        /** Safety snapshots vm-state keeps per state after each assign/apply. */
        readonly safetySnapshots: { readonly keep: number; readonly maxAgeDays: number };
        readonly autoSnapshots: readonly {
            state: string;
            hourly: number;
            daily: number;
            weekly: number;
            monthly: number;
        }[];
        /** Only when the state volume was made from an EBS snapshot: its pool was last used by another host. */
        readonly fromSnapshot?: string;
    };
    readonly tailscale: {
        readonly enabled: boolean;
        readonly hostname: string;
        readonly tags: readonly string[];
        readonly authKeyFile: string;
        readonly advertiseRoutes: readonly string[];
    };
    readonly guest: { readonly dataLabel: string };
    readonly slots: readonly DeploymentSlot[];
    /** Only in a stack with several hosts: the other hosts, and how states move and replicate between them. */
    readonly fleet?: FleetData;
    /** Only when the stack turns observability on (lib/observabilityData.ts). */
    readonly observability?: ObservabilityData;
}

export interface FleetData {
    /** This host's name. */
    readonly self: string;
    /** Every host: its private address, state backend and SSH host key (for a pinned known_hosts). */
    readonly hosts: readonly {
        readonly name: string;
        readonly address: string;
        readonly backend: string;
        readonly hostKey: string;
    }[];
    readonly transferKeyFile: string;
    /** The public half: root's authorized key on every host, restricted to `vm-state fleet-serve`. */
    readonly transferPublicKey: string;
    /** Every replication in the fleet; each host runs those `from` itself. */
    readonly replicas: readonly {
        readonly state: string;
        readonly from: string;
        readonly to: string;
        readonly every: string;
        readonly keep: ReplicaKeep;
    }[];
}

/** How many copies of each age a replica keeps (the stack's `keep`, infra/config/fleet.ts). */
export interface ReplicaKeep {
    readonly hourly: number;
    readonly daily: number;
    readonly weekly: number;
    readonly monthly: number;
}

/** The file's text: stable key order, two-space indent, trailing newline (the bundle hash depends on it). */
export function renderDeploymentData(data: DeploymentData): string {
    return `${JSON.stringify(data, null, 2)}\n`;
}
