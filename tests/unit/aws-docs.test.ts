/** docs/aws.md's cost table is the table the config validates against: same types, same prices, same date. */
import { readFileSync } from "fs";
import { metalTypes, pricesAsOf } from "../../infra/instanceTypes";
import { repoPath } from "../helpers/paths";

const doc = readFileSync(repoPath("docs/aws.md"), "utf8");

test("the cost table lists every supported metal type with its vCPUs, memory and price", () => {
    const rows = [...doc.matchAll(/^\| `([a-z0-9.-]+)` \| (\d+) \| (\d+) \| \$([\d.]+) \| \$(\d+) \|$/gm)].map(
        ([, type, vcpu, mem, hour, month]) => [type, Number(vcpu), Number(mem), Number(hour), Number(month)],
    );
    const expected = Object.entries(metalTypes).map(([type, t]) => [
        type,
        t.vcpu,
        t.memoryGiB,
        t.usdPerHour,
        Math.round(t.usdPerHour * 730),
    ]);
    expect(rows).toEqual(expected);
});

test("the table says the region and date its prices are from", () => {
    const [month, region] = pricesAsOf.split(", ");
    const monthName = new Date(`${month}-01T00:00:00Z`).toLocaleString("en", {
        month: "long",
        year: "numeric",
        timeZone: "UTC",
    });
    expect(doc).toContain(`prices in **${region}**, USD, as of **${monthName}**`);
});
