/**
 * The acceptance run's arithmetic and what the README says of it: the run deploys the cheapest metal
 * type of infra/instanceTypes.ts and prices a run from the same table.
 */
import { readFileSync } from "fs";
import { acceptanceVolumes, cheapestMetalType, renderCost, runCost } from "../../acceptance/cost";
import { ebsPrices, publicIpv4UsdPerHour } from "../../infra/prices";
import { metalTypes } from "../../infra/instanceTypes";
import { repoPath } from "../helpers/paths";

describe("acceptance/cost.ts", () => {
    test("the cheapest metal type is the one with the lowest hourly price", () => {
        const min = Math.min(...Object.values(metalTypes).map((t) => t.usdPerHour));
        expect(metalTypes[cheapestMetalType()].usdPerHour).toBe(min);
        expect(cheapestMetalType()).toBe("a1.metal");
    });

    test("a run: instance-hours at the table's price, the volumes per GiB-month by the hour, the address per hour", () => {
        const cost = runCost("c7g.metal", 7200, 64, 8);
        expect(cost.lines.map((l) => l.usd)).toEqual([
            2 * 2.32,
            (72 * ebsPrices.gp3.usdPerGiBMonth * 2) / 730,
            2 * publicIpv4UsdPerHour,
        ]);
        expect(cost.totalUsd).toBeCloseTo(4.64 + 0.01578 + 0.01, 4);
        expect(renderCost(cost)).toMatch(
            /^ +4\.6400 USD {2}c7g\.metal: 2\.00 h x 2\.32 USD\/h \(2025-06, us-east-1\)\n/,
        );
    });

    test("an instance is billed for a minute at least; bad input is refused naming it", () => {
        expect(runCost("a1.metal", 5, 0, 0).lines[0].usd).toBeCloseTo(0.408 / 60, 8);
        expect(() => runCost("t4g.nano", 60, 8, 8)).toThrow(/unknown metal type "t4g\.nano"; one of a1\.metal, /);
        expect(() => runCost("a1.metal", -1, 8, 8)).toThrow("seconds must be a number >= 0, got -1");
    });

    test("the README's hourly figure for a run is the table's", () => {
        const readme = readFileSync(repoPath("README.md"), "utf8");
        const section = /## Acceptance run\n([\s\S]*?)\n## /.exec(readme)![1];
        const hour = runCost(cheapestMetalType(), 3600, 64, 8).totalUsd;
        expect(section).toContain(`on \`${cheapestMetalType()}\` in us-east-1, about ${hour.toFixed(2)} USD an hour`);
        expect(section).toContain("gp3 volumes (64 GiB root, 8 GiB state)");
        expect(acceptanceVolumes()).toEqual({ rootGiB: 64, stateGiB: 8 });
        expect(acceptanceVolumes("config:\n  microvm-infra:host: { rootVolumeGiB: 30 }\n")).toEqual({
            rootGiB: 30,
            stateGiB: 256,
        });
    });
});
