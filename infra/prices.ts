/**
 * What the review costs besides the instance (whose prices are infra/instanceTypes.ts): the EBS
 * volumes (root and state: size, provisioned IOPS and throughput above what the type includes) and
 * the Elastic IP (a public IPv4 address). List prices, us-east-1, as published by AWS at
 * `storagePricesAsOf`; not re-checked since (no network here). A guide for a reviewer, not a quote:
 * data transfer and EBS snapshot storage (backups, which depend on how much data changes) come on
 * top.
 *
 * Sources: https://aws.amazon.com/ebs/pricing/ (gp3: per GB-month, IOPS above 3,000 and
 * throughput above 125 MB/s per month; io2: per GB-month and per provisioned IOPS-month, in three
 * tiers) and https://aws.amazon.com/vpc/pricing/ ("Public IPv4 address": every public IPv4
 * address, attached or not, per hour, since 2024-02-01).
 */
/** Hours in an average month (AWS's own figure for monthly estimates). */
export const hoursPerMonth = 730;

export const storagePricesAsOf = "2025-06, us-east-1";

export const ebsPrices = {
    gp3: {
        usdPerGiBMonth: 0.08,
        includedIops: 3000,
        usdPerIopsMonth: 0.005,
        includedThroughputMiBps: 125,
        usdPerMiBpsMonth: 0.04,
    },
    io2: {
        usdPerGiBMonth: 0.125,
        /** Per provisioned IOPS-month: up to 32,000, then up to 64,000, then above. */
        iopsTiers: [
            { upTo: 32000, usdPerIopsMonth: 0.065 },
            { upTo: 64000, usdPerIopsMonth: 0.0455 },
            { upTo: Infinity, usdPerIopsMonth: 0.032 },
        ],
    },
} as const;

/** Every public IPv4 address (the Elastic IP), per hour. */
export const publicIpv4UsdPerHour = 0.005;

export interface VolumeSpec {
    readonly type: "gp3" | "io2";
    readonly sizeGiB: number;
    readonly iops?: number;
    readonly throughputMiBps?: number;
}

/** A volume's price per month (gp3's included IOPS and throughput free, io2's IOPS by tier). */
export function volumeUsdPerMonth(v: VolumeSpec): number {
    if (v.type === "gp3") {
        const p = ebsPrices.gp3;
        const iops = Math.max(0, (v.iops ?? p.includedIops) - p.includedIops);
        const throughput = Math.max(0, (v.throughputMiBps ?? p.includedThroughputMiBps) - p.includedThroughputMiBps);
        return v.sizeGiB * p.usdPerGiBMonth + iops * p.usdPerIopsMonth + throughput * p.usdPerMiBpsMonth;
    }
    let left = v.iops ?? 0;
    let from = 0;
    let usd = v.sizeGiB * ebsPrices.io2.usdPerGiBMonth;
    for (const tier of ebsPrices.io2.iopsTiers) {
        const inTier = Math.max(0, Math.min(left, tier.upTo - from));
        usd += inTier * tier.usdPerIopsMonth;
        left -= inTier;
        from = tier.upTo;
    }
    return usd;
}

/** The same per hour (AWS's monthly estimates use 730 hours). */
export const volumeUsdPerHour = (v: VolumeSpec): number => volumeUsdPerMonth(v) / hoursPerMonth;
