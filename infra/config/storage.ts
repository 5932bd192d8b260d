/** `storage`: where the states live and, for zfs, the EBS volume that holds them. */
import { Problems, readChoice, readInt, readObject } from "./reader";

/**
 * `zfs`: a pool on the state volume (checksums, atomic snapshots, send/receive); `xfs`: the state
 * volume formatted XFS with reflinks (instant copies, no kernel module to keep in step);
 * `files`: plain files on the root disk (no state volume; copies are full copies).
 */
export type StorageBackend = "zfs" | "xfs" | "files";
export const storageBackends: readonly StorageBackend[] = ["zfs", "xfs", "files"];

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

export const storageDefaults = { volumeGiB: 256, safetySnapshots: { keep: 5, maxAgeDays: 30 } } as const;

/** AWS's limits for the two volume types (EBS User Guide, "Amazon EBS volume types"). */
export const ebsLimits = {
    gp3: { baselineIops: 3000, maxIops: 16000, iopsPerGiB: 500, minThroughput: 125, maxThroughput: 1000, throughputPerIops: 0.25 },
    io2: { minIops: 100, maxIops: 256000, iopsPerGiB: 1000 },
} as const;

export function parseStorage(p: Problems, raw: unknown): StorageConfig {
    const o = readObject(p, "storage", raw, ["backend", "volumeGiB", "volumeType", "iops", "throughputMiBps", "safetySnapshots"]);
    const safety = readObject(p, "storage.safetySnapshots", o.safetySnapshots, ["keep", "maxAgeDays"]);
    const volumeType = readChoice(p, o, "storage", "volumeType", ["gp3", "io2"] as const, "gp3");
    const volumeGiB = readInt(p, o, "storage", "volumeGiB", 8, 16384, storageDefaults.volumeGiB);
    const gp3 = ebsLimits.gp3;
    const io2 = ebsLimits.io2;
    const iops = volumeType === "gp3"
        ? readInt(p, o, "storage", "iops", gp3.baselineIops, gp3.maxIops)
        : readInt(p, o, "storage", "iops", io2.minIops, io2.maxIops);
    const throughputMiBps = readInt(p, o, "storage", "throughputMiBps", gp3.minThroughput, gp3.maxThroughput);
    const perGiB = volumeType === "gp3" ? gp3.iopsPerGiB : io2.iopsPerGiB;
    if (iops !== undefined && iops > perGiB * volumeGiB) {
        p.add("storage.iops", `${iops} is more than ${volumeType} allows for ${volumeGiB} GiB (${perGiB} IOPS per GiB, so at most ${perGiB * volumeGiB}); lower storage.iops or grow storage.volumeGiB`);
    }
    if (volumeType === "io2" && iops === undefined && o.iops === undefined) {
        p.add("storage.iops", `is required with storage.volumeType "io2" (${io2.minIops} to ${io2.maxIops})`);
    }
    if (volumeType === "io2" && throughputMiBps !== undefined) {
        p.add("storage.throughputMiBps", `applies to gp3 only; remove it or set storage.volumeType to "gp3"`);
    } else if (throughputMiBps !== undefined) {
        const effectiveIops = iops ?? gp3.baselineIops;
        const max = Math.floor(effectiveIops * gp3.throughputPerIops);
        if (throughputMiBps > max) {
            p.add("storage.throughputMiBps", `${throughputMiBps} MiB/s needs more IOPS: gp3 allows ${gp3.throughputPerIops} MiB/s per IOPS, so ${effectiveIops} IOPS allow at most ${max} MiB/s; raise storage.iops to ${Math.ceil(throughputMiBps / gp3.throughputPerIops)} or lower the throughput`);
        }
    }
    return {
        backend: readChoice(p, o, "storage", "backend", storageBackends, "zfs"),
        safetySnapshots: {
            keep: readInt(p, safety, "storage.safetySnapshots", "keep", 1, 1000, storageDefaults.safetySnapshots.keep),
            maxAgeDays: readInt(p, safety, "storage.safetySnapshots", "maxAgeDays", 1, 3650, storageDefaults.safetySnapshots.maxAgeDays),
        },
        volumeGiB,
        volumeType,
        iops,
        throughputMiBps,
    };
}
