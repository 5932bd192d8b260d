/** `storage`: where the states live and, for zfs, the EBS volume that holds them. */
import { backupIntervals } from "../../components/aws/backups";
import {
    safetySnapshotDefaults,
    safetySnapshotLimits,
    StorageBackend,
    storageBackends,
} from "../../lib/deploymentData";
import { Problems, readChoice, readInt, readObject } from "./reader";

export type { StorageBackend };
export { storageBackends };

/** Backends whose states live on the dedicated EBS volume (kept when the host is replaced). */
export function usesStateVolume(backend: StorageBackend): boolean {
    return backend !== "files";
}

/** How many safety snapshots (taken by assign/apply) each state keeps, and for how long. */
export interface SafetySnapshots {
    readonly keep: number;
    readonly maxAgeDays: number;
}

export interface StorageConfig {
    readonly backend: StorageBackend;
    readonly safetySnapshots: SafetySnapshots;
    readonly volumeGiB: number;
    readonly volumeType: "gp3" | "io2";
    readonly iops?: number;
    readonly throughputMiBps?: number;
}

export const storageDefaults = { volumeGiB: 256, safetySnapshots: safetySnapshotDefaults } as const;

/** AWS's limits for the two volume types (EBS User Guide, "Amazon EBS volume types"). */
export const ebsLimits = {
    gp3: {
        baselineIops: 3000,
        maxIops: 16000,
        iopsPerGiB: 500,
        minThroughput: 125,
        maxThroughput: 1000,
        throughputPerIops: 0.25,
    },
    io2: { minIops: 100, maxIops: 256000, iopsPerGiB: 1000 },
} as const;

/** EBS snapshots of every state volume, by an AWS-managed lifecycle policy (Data Lifecycle Manager). */
export interface Backups {
    /** Hours between two snapshots: 1, 2, 3, 4, 6, 8, 12 or 24 (what DLM schedules). */
    readonly everyHours: number;
    /** How many snapshots of each volume DLM keeps. */
    readonly keep: number;
}

const storageKeys = ["backend", "volumeGiB", "volumeType", "iops", "throughputMiBps", "safetySnapshots"];

/**
 * `storage` (`path`), or a host's override of it: keys it does not set come from `base` (the
 * fleet-wide storage), or from the defaults. `extraKeys` are accepted and left to the caller.
 */
export function parseStorage(
    p: Problems,
    raw: unknown,
    path = "storage",
    base?: StorageConfig,
    extraKeys: readonly string[] = [],
): StorageConfig {
    const o = readObject(p, path, raw, [...storageKeys, ...extraKeys]);
    const safety = readObject(p, `${path}.safetySnapshots`, o.safetySnapshots, ["keep", "maxAgeDays"]);
    const volumeType = readChoice(p, o, path, "volumeType", ["gp3", "io2"] as const, base?.volumeType ?? "gp3");
    const volumeGiB = readInt(p, o, path, "volumeGiB", 8, 16384, base?.volumeGiB ?? storageDefaults.volumeGiB);
    const gp3 = ebsLimits.gp3;
    const io2 = ebsLimits.io2;
    const inherited = <K extends "iops" | "throughputMiBps">(key: K) =>
        o.volumeType === undefined ? base?.[key] : undefined;
    const iops =
        (volumeType === "gp3"
            ? readInt(p, o, path, "iops", gp3.baselineIops, gp3.maxIops)
            : readInt(p, o, path, "iops", io2.minIops, io2.maxIops)) ?? inherited("iops");
    const throughputMiBps =
        readInt(p, o, path, "throughputMiBps", gp3.minThroughput, gp3.maxThroughput) ?? inherited("throughputMiBps");
    const checked = base === undefined || Object.keys(o).some((k) => storageKeys.includes(k));
    const perGiB = volumeType === "gp3" ? gp3.iopsPerGiB : io2.iopsPerGiB;
    if (checked && iops !== undefined && iops > perGiB * volumeGiB) {
        p.add(
            `${path}.iops`,
            `${iops} is more than ${volumeType} allows for ${volumeGiB} GiB (${perGiB} IOPS per GiB, so at most ${perGiB * volumeGiB}); lower ${path}.iops or grow ${path}.volumeGiB`,
        );
    }
    if (checked && volumeType === "io2" && iops === undefined && o.iops === undefined) {
        p.add(`${path}.iops`, `is required with ${path}.volumeType "io2" (${io2.minIops} to ${io2.maxIops})`);
    }
    if (checked && volumeType === "io2" && throughputMiBps !== undefined) {
        p.add(`${path}.throughputMiBps`, `applies to gp3 only; remove it or set ${path}.volumeType to "gp3"`);
    } else if (checked && throughputMiBps !== undefined) {
        const effectiveIops = iops ?? gp3.baselineIops;
        const max = Math.floor(effectiveIops * gp3.throughputPerIops);
        if (throughputMiBps > max) {
            p.add(
                `${path}.throughputMiBps`,
                `${throughputMiBps} MiB/s needs more IOPS: gp3 allows ${gp3.throughputPerIops} MiB/s per IOPS, so ${effectiveIops} IOPS allow at most ${max} MiB/s; raise ${path}.iops to ${Math.ceil(throughputMiBps / gp3.throughputPerIops)} or lower the throughput`,
            );
        }
    }
    const safetyBase = base?.safetySnapshots ?? storageDefaults.safetySnapshots;
    return {
        backend: readChoice(p, o, path, "backend", storageBackends, base?.backend ?? "zfs"),
        safetySnapshots: {
            keep: readInt(
                p,
                safety,
                `${path}.safetySnapshots`,
                "keep",
                safetySnapshotLimits.keep.min,
                safetySnapshotLimits.keep.max,
                safetyBase.keep,
            ),
            maxAgeDays: readInt(
                p,
                safety,
                `${path}.safetySnapshots`,
                "maxAgeDays",
                safetySnapshotLimits.maxAgeDays.min,
                safetySnapshotLimits.maxAgeDays.max,
                safetyBase.maxAgeDays,
            ),
        },
        volumeGiB,
        volumeType,
        iops,
        throughputMiBps,
    };
}

/** `storage.backups` (fleet-wide): undefined when not set. */
export function parseBackups(p: Problems, raw: unknown): Backups | undefined {
    if (raw === undefined || raw === null) {
        return undefined;
    }
    const o = readObject(p, "storage.backups", raw, ["everyHours", "keep"]);
    const everyHours = readInt(p, o, "storage.backups", "everyHours", 1, 24, 24);
    if (!(backupIntervals as readonly number[]).includes(everyHours)) {
        p.add(
            "storage.backups.everyHours",
            `must be one of ${backupIntervals.join(", ")} (the intervals EBS lifecycle policies schedule), got ${everyHours}`,
        );
    }
    return { everyHours, keep: readInt(p, o, "storage.backups", "keep", 1, 1000, 7) };
}
