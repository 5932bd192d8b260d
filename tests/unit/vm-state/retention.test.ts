/** The one retention rule: safety snapshots (newest N, at most D days old) and replicas (sanoid's buckets). */
import { execFileSync } from "child_process";
import fc from "fast-check";
import { Dated, isoWeek, retain } from "../../../vm-state/src/retention";
import { safetySnapshotPattern } from "../../../vm-state/src/safety";

const day = 86400;
const now = 1_800_000_000;
const item = (name: string, age: number): Dated => ({ name, created: now - age });
const names = (xs: readonly Dated[]) => xs.map((x) => x.name);

describe("retain", () => {
    test("safety: the newest N, of those only the young ones, always the newest", () => {
        const items = [
            item("a", 50 * day),
            item("b", 40 * day),
            item("c", 3 * day),
            item("d", 2 * day),
            item("e", day),
        ];
        expect(names(retain(items, { newest: 2, maxAgeSeconds: 30 * day }, now).keep)).toEqual(["d", "e"]);
        expect(names(retain(items, { newest: 5, maxAgeSeconds: 30 * day }, now).drop)).toEqual(["a", "b"]);
        const old = [item("x", 90 * day), item("y", 80 * day)];
        expect(names(retain(old, { newest: 5, maxAgeSeconds: 30 * day }, now).keep)).toEqual(["y"]);
    });

    test("replicas: the newest, and the newest of each of the last N hours and days that have one", () => {
        const t = Date.UTC(2024, 0, 10, 12, 30) / 1000;
        const at = (name: string, iso: string): Dated => ({ name, created: Date.parse(iso) / 1000 });
        const items = [
            at("d8", "2024-01-08T23:00:00Z"),
            at("d9a", "2024-01-09T10:00:00Z"),
            at("d9b", "2024-01-09T22:00:00Z"),
            at("h11a", "2024-01-10T11:05:00Z"),
            at("h11b", "2024-01-10T11:50:00Z"),
            at("h12", "2024-01-10T12:15:00Z"),
        ];
        expect(names(retain(items, { hourly: 2 }, t).keep)).toEqual(["h11b", "h12"]);
        expect(names(retain(items, { daily: 2 }, t).keep)).toEqual(["d9b", "h12"]);
        expect(names(retain(items, { hourly: 1, daily: 3 }, t).keep)).toEqual(["d8", "d9b", "h12"]);
        expect(names(retain(items, {}, t).keep)).toEqual(["h12"]);
    });

    test("ISO weeks are as date(1) counts them (%G%V)", () => {
        const days = Array.from({ length: 40 }, (_, i) => Date.UTC(2020, 11, 20) / 1000 + i * 7 * day + (i % 7) * day);
        const expected = execFileSync("bash", ["-c", `for t in ${days.join(" ")}; do date -u -d @$t +%G%V; done`])
            .toString()
            .trim()
            .split("\n");
        expect(days.map((d) => isoWeek(new Date(d * 1000)))).toEqual(expected);
    });

    test("always: kept and dropped partition the items, the newest is kept, order is kept", () => {
        fc.assert(
            fc.property(
                fc.array(fc.integer({ min: 0, max: 400 * day }), { minLength: 1, maxLength: 30 }),
                fc.record({
                    newest: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
                    maxAgeSeconds: fc.option(fc.integer({ min: 1, max: 60 * day }), { nil: undefined }),
                    hourly: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
                    daily: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
                    weekly: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
                    monthly: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
                }),
                (ages, policy) => {
                    const items = ages.map((age, i) => item(`s${i}`, age)).sort((a, b) => a.created - b.created);
                    const { keep, drop } = retain(items, policy, now);
                    expect([...keep, ...drop].map((x) => x.name).sort()).toEqual(items.map((x) => x.name).sort());
                    expect(keep).toContain(items[items.length - 1]);
                    expect(keep).toEqual(items.filter((x) => keep.includes(x)));
                    const buckets =
                        (policy.hourly ?? 0) + (policy.daily ?? 0) + (policy.weekly ?? 0) + (policy.monthly ?? 0);
                    const counted = policy.newest ?? (policy.maxAgeSeconds !== undefined ? items.length : 0);
                    expect(keep.length).toBeLessThanOrEqual(1 + counted + buckets);
                },
            ),
        );
    });
});

describe("safety snapshot names", () => {
    test.each([
        ["pre-assign-20240101-120000", true],
        ["pre-apply-20240101-120000-2", true],
        ["pre-recover-20240101-120000", true],
        ["pre-adopt-20240101-120000", true],
        ["pre-assign-2024010-120000", false],
        ["mine", false],
        ["pre-deploy-20240101-120000", false],
    ])("%s is a safety snapshot: %s", (name, yes) => {
        expect(safetySnapshotPattern.test(name)).toBe(yes);
    });
});
