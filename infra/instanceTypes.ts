/**
 * The Graviton (arm64) bare-metal instance types microvm-infra can run on. KVM needs metal: a
 * virtualised Graviton instance cannot run microVMs. One table drives validation (type, memory
 * fit), the plan and the README's cost table.
 *
 * Prices: on-demand Linux, us-east-1, USD per hour, as published on the AWS EC2 on-demand pricing
 * page (see `pricesAsOf`). They are a guide for choosing a type, not a quote.
 */
export interface MetalType {
    readonly vcpu: number;
    readonly memoryGiB: number;
    readonly usdPerHour: number;
}

export const pricesAsOf = "2025-06, us-east-1";

export const metalTypes: Readonly<Record<string, MetalType>> = {
    "a1.metal": { vcpu: 16, memoryGiB: 32, usdPerHour: 0.408 },
    "c6g.metal": { vcpu: 64, memoryGiB: 128, usdPerHour: 2.176 },
    "c6gd.metal": { vcpu: 64, memoryGiB: 128, usdPerHour: 2.7648 },
    "m6g.metal": { vcpu: 64, memoryGiB: 256, usdPerHour: 2.464 },
    "m6gd.metal": { vcpu: 64, memoryGiB: 256, usdPerHour: 2.8928 },
    "r6g.metal": { vcpu: 64, memoryGiB: 512, usdPerHour: 3.2256 },
    "r6gd.metal": { vcpu: 64, memoryGiB: 512, usdPerHour: 3.6864 },
    "x2gd.metal": { vcpu: 64, memoryGiB: 1024, usdPerHour: 5.344 },
    "c7g.metal": { vcpu: 64, memoryGiB: 128, usdPerHour: 2.32 },
    "c7gd.metal": { vcpu: 64, memoryGiB: 128, usdPerHour: 2.903 },
    "m7g.metal": { vcpu: 64, memoryGiB: 256, usdPerHour: 2.6112 },
    "m7gd.metal": { vcpu: 64, memoryGiB: 256, usdPerHour: 3.4176 },
    "r7g.metal": { vcpu: 64, memoryGiB: 512, usdPerHour: 3.4272 },
    "r7gd.metal": { vcpu: 64, memoryGiB: 512, usdPerHour: 4.3546 },
    "c8g.metal-24xl": { vcpu: 96, memoryGiB: 192, usdPerHour: 3.829 },
    "c8g.metal-48xl": { vcpu: 192, memoryGiB: 384, usdPerHour: 7.6579 },
    "m8g.metal-24xl": { vcpu: 96, memoryGiB: 384, usdPerHour: 4.3085 },
    "m8g.metal-48xl": { vcpu: 192, memoryGiB: 768, usdPerHour: 8.617 },
    "r8g.metal-24xl": { vcpu: 96, memoryGiB: 768, usdPerHour: 5.6554 },
    "r8g.metal-48xl": { vcpu: 192, memoryGiB: 1536, usdPerHour: 11.3107 },
};

/**
 * Memory the host keeps for itself (NixOS, ZFS ARC, Tailscale, the VMMs' own overhead): the larger
 * of 4 GiB and a tenth of the machine.
 */
export function hostReserveMiB(type: MetalType): number {
    return Math.max(4096, Math.ceil(type.memoryGiB * 1024 * 0.1));
}

/** Memory left for slots on a metal type. */
export function slotMemoryBudgetMiB(type: MetalType): number {
    return type.memoryGiB * 1024 - hostReserveMiB(type);
}

/** Graviton families are named with a `g` after the generation (c7g, m6gd, x2gd), or are `a1`. */
export function isGravitonType(instanceType: string): boolean {
    const family = instanceType.split(".")[0];
    return family === "a1" || /^[a-z]+\d+g[a-z]*$/.test(family);
}

export function isMetalType(instanceType: string): boolean {
    return /^[a-z0-9-]+\.metal(-\d+xl)?$/.test(instanceType);
}
