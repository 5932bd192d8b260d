/**
 * What an acceptance run costs: the metal instance's hours at its price in infra/instanceTypes.ts,
 * plus its volumes (root and state, gp3) and its public IPv4 address for the same time, at the
 * prices of infra/prices.ts (the review's).
 *   tsx acceptance/cost.ts cheapest                       the cheapest metal type (what the run deploys)
 *   tsx acceptance/cost.ts volumes                        "ROOT_GIB STATE_GIB" of acceptance/stack.yaml
 *   tsx acceptance/cost.ts TYPE SECONDS ROOT_GIB STATE_GIB the cost of a run, one line per item
 * AWS bills a Linux instance per second with a one-minute minimum, EBS per GiB-month by the second,
 * and a public IPv4 address per hour.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { parse } from "yaml";
import { hostDefaults } from "../infra/config/host";
import { storageDefaults } from "../infra/config/storage";
import { metalTypes, pricesAsOf } from "../infra/instanceTypes";
import { ebsPrices, hoursPerMonth, publicIpv4UsdPerHour } from "../infra/prices";

export function cheapestMetalType(): string {
    return Object.entries(metalTypes).sort(([, a], [, b]) => a.usdPerHour - b.usdPerHour)[0][0];
}

/** The root and state volume sizes of the acceptance stack: its own, or the program's defaults. */
export function acceptanceVolumes(stackYaml = readFileSync(join(__dirname, "stack.yaml"), "utf8")): {
    rootGiB: number;
    stateGiB: number;
} {
    const config = (parse(stackYaml) as { config?: Record<string, any> }).config ?? {};
    return {
        rootGiB: config["microvm-infra:host"]?.rootVolumeGiB ?? hostDefaults.rootVolumeGiB,
        stateGiB: config["microvm-infra:storage"]?.volumeGiB ?? storageDefaults.volumeGiB,
    };
}

export interface RunCost {
    readonly lines: readonly { readonly item: string; readonly usd: number }[];
    readonly totalUsd: number;
}

/** The cost of `seconds` of a run on `type` with a root and a state volume of the given sizes. */
export function runCost(type: string, seconds: number, rootGiB: number, stateGiB: number): RunCost {
    const metal = metalTypes[type];
    if (!metal) {
        throw new RangeError(
            `unknown metal type ${JSON.stringify(type)}; one of ${Object.keys(metalTypes).join(", ")}`,
        );
    }
    if (!Number.isFinite(seconds) || seconds < 0) {
        throw new RangeError(`seconds must be a number >= 0, got ${seconds}`);
    }
    const hours = Math.max(seconds, 60) / 3600;
    const storageHours = seconds / 3600;
    const gib = rootGiB + stateGiB;
    const lines = [
        {
            item: `${type}: ${hours.toFixed(2)} h x ${metal.usdPerHour} USD/h (${pricesAsOf})`,
            usd: hours * metal.usdPerHour,
        },
        {
            item: `gp3 volumes: ${gib} GiB (root ${rootGiB}, state ${stateGiB}) x ${storageHours.toFixed(2)} h at ${ebsPrices.gp3.usdPerGiBMonth} USD per GiB-month`,
            usd: (gib * ebsPrices.gp3.usdPerGiBMonth * storageHours) / hoursPerMonth,
        },
        {
            item: `public IPv4 address: ${storageHours.toFixed(2)} h x ${publicIpv4UsdPerHour} USD/h`,
            usd: storageHours * publicIpv4UsdPerHour,
        },
    ];
    return { lines, totalUsd: lines.reduce((n, l) => n + l.usd, 0) };
}

export function renderCost(cost: RunCost): string {
    return [
        ...cost.lines.map((l) => `  ${l.usd.toFixed(4).padStart(9)} USD  ${l.item}`),
        `  ${cost.totalUsd.toFixed(4).padStart(9)} USD  in all (list prices; data transfer and taxes not included)`,
    ].join("\n");
}

if (require.main === module) {
    const [cmd, ...rest] = process.argv.slice(2);
    try {
        if (cmd === "cheapest" && rest.length === 0) {
            process.stdout.write(`${cheapestMetalType()}\n`);
        } else if (cmd === "volumes" && rest.length === 0) {
            const { rootGiB, stateGiB } = acceptanceVolumes();
            process.stdout.write(`${rootGiB} ${stateGiB}\n`);
        } else if (cmd !== undefined && rest.length === 3) {
            const [seconds, rootGiB, stateGiB] = rest.map(Number);
            process.stdout.write(`${renderCost(runCost(cmd, seconds, rootGiB, stateGiB))}\n`);
        } else {
            process.stderr.write(
                "Usage: cost.ts cheapest | cost.ts volumes | cost.ts TYPE SECONDS ROOT_GIB STATE_GIB\n",
            );
            process.exitCode = 2;
        }
    } catch (err) {
        process.stderr.write(`cost: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 2;
    }
}
