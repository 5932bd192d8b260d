/**
 * What a plan costs per hour and per month, from the resources it declares: each host's instance
 * (infra/instanceTypes.ts), its root and state volumes by type, size, IOPS and throughput, and its
 * Elastic IP (a public IPv4 address) (infra/prices.ts). On-demand list prices, us-east-1.
 */
import { metalTypes } from "../../infra/instanceTypes";
import { hostResourceName } from "../../infra/program";
import { PlannedResource } from "./mockRuntime";
import { hoursPerMonth, publicIpv4UsdPerHour, VolumeSpec, volumeUsdPerHour } from "../../infra/prices";
import { Plan } from "./run";

export interface CostLine {
    /** What is paid for, with its host in a fleet: `instance`, `state volume (big)`. */
    readonly item: string;
    /** Type and size: `a1.metal`, `gp3 256 GiB, 3000 IOPS, 125 MiB/s`. */
    readonly detail: string;
    readonly usdPerHour: number;
}

export interface Cost {
    readonly lines: CostLine[];
    readonly usdPerHour: number;
    readonly usdPerMonth: number;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

export function volumeDetail(v: VolumeSpec): string {
    const extras = [
        ...(v.iops !== undefined ? [`${v.iops} IOPS`] : []),
        ...(v.throughputMiBps !== undefined ? [`${v.throughputMiBps} MiB/s`] : []),
    ];
    return [`${v.type} ${v.sizeGiB} GiB`, ...extras].join(", ");
}

/** The state volume's spec as declared (`aws:ebs/volume:Volume` inputs). */
export function stateVolumeSpec(r: PlannedResource): VolumeSpec {
    const i = r.inputs as { type?: string; size?: number; iops?: number; throughput?: number };
    return {
        type: i.type === "io2" ? "io2" : "gp3",
        sizeGiB: Number(i.size ?? 0),
        iops: i.iops,
        throughputMiBps: i.throughput,
    };
}

export function planCost(plan: Plan): Cost {
    const fleet = plan.config.hosts.length > 1;
    const lines: CostLine[] = [];
    for (const h of plan.config.hosts) {
        const name = hostResourceName(h.name);
        const suffix = fleet ? ` (${h.name})` : "";
        const of = (type: string, n: string) => plan.resources.find((r) => r.type === type && r.name === n);
        const instance = of("aws:ec2/instance:Instance", `${name}-host`);
        if (instance) {
            const type = String(instance.inputs.instanceType);
            lines.push({ item: `instance${suffix}`, detail: type, usdPerHour: metalTypes[type]?.usdPerHour ?? NaN });
            const root = instance.inputs.rootBlockDevice as { volumeType?: string; volumeSize?: number } | undefined;
            const spec: VolumeSpec = {
                type: root?.volumeType === "io2" ? "io2" : "gp3",
                sizeGiB: Number(root?.volumeSize ?? 0),
            };
            lines.push({
                item: `root volume${suffix}`,
                detail: volumeDetail(spec),
                usdPerHour: volumeUsdPerHour(spec),
            });
        }
        const volume = of("aws:ebs/volume:Volume", `${name}-state`);
        if (volume) {
            const spec = stateVolumeSpec(volume);
            lines.push({
                item: `state volume${suffix}`,
                detail: volumeDetail(spec),
                usdPerHour: volumeUsdPerHour(spec),
            });
        }
        if (of("aws:ec2/eip:Eip", `${name}-ip`)) {
            lines.push({ item: `public IPv4${suffix}`, detail: "Elastic IP", usdPerHour: publicIpv4UsdPerHour });
        }
    }
    const usdPerHour = lines.reduce((sum, l) => sum + l.usdPerHour, 0);
    return { lines, usdPerHour: round(usdPerHour, 4), usdPerMonth: round(usdPerHour * hoursPerMonth, 2) };
}
