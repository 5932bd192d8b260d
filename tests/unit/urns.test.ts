/**
 * Existing stacks keep their resources: every stack file in the repository plans to exactly the URNs
 * recorded in tests/fixtures/urns (a renamed resource needs an alias, and the fleet support must
 * leave a one-host stack untouched). A deliberate new resource updates the list in the same change.
 * And no two resources can ever be taken for one another: every URN and every alias of a plan is
 * distinct, for the fixtures and for generated configs whose names are made to collide.
 */
import { readdirSync, readFileSync } from "fs";
import { basename } from "path";
import fc from "fast-check";
import { planStack, Plan } from "../../tools/plan/run";
import { configProblems } from "../helpers/config";
import { repoPath } from "../helpers/paths";
import { exampleStack, planDoc, StackDoc } from "../helpers/stacks";

const stacks = [
    "Pulumi.dev.yaml",
    ...readdirSync(repoPath("tests/fixtures/stacks"))
        .filter((f) => f.endsWith(".yaml"))
        .map((f) => `tests/fixtures/stacks/${f}`),
];

test.each(stacks)("%s plans to the recorded URNs", async (file) => {
    const recorded = readFileSync(repoPath("tests/fixtures/urns", `${basename(file, ".yaml")}.txt`), "utf8")
        .trim()
        .split("\n");
    const plan = await planStack(repoPath(file), "dev");
    const fix =
        "a deliberate new or removed resource (e.g. adding slot6): run `npm run render-fixtures` and commit tests/fixtures/urns; a renamed one: add an alias instead";
    expect({ urns: plan.resources.map((r) => r.urn).sort(), fix }).toEqual({ urns: recorded, fix });
});

/** Every name the engine may match a resource by that another resource of the plan also claims. */
function collisions(plan: Plan): string[] {
    const claims = new Map<string, string[]>();
    for (const r of plan.resources) {
        for (const name of new Set([r.urn, ...r.aliases])) {
            claims.set(name, [...(claims.get(name) ?? []), r.urn]);
        }
    }
    return [...claims].filter(([, by]) => by.length > 1).map(([name, by]) => `${name} claimed by ${by.join(" and ")}`);
}

test.each(stacks)("%s: every URN and alias is distinct", async (file) => {
    expect(collisions(await planStack(repoPath(file), "dev"))).toEqual([]);
});

/** The namespace's keys of a stack document, unprefixed, as parseStackConfig takes them. */
const rawOf = (doc: StackDoc) =>
    Object.fromEntries(
        Object.entries(doc.config)
            .filter(([k]) => k.startsWith("microvm-infra:"))
            .map(([k, v]) => [k.slice("microvm-infra:".length), v]),
    );

describe("generated states whose names and snapshot names are made of each other's parts", () => {
    const part = fc.constantFrom("x", "y", "state", "snap", "x-snap-y", "y-state");
    const name = fc
        .array(part, { minLength: 1, maxLength: 3 })
        .map((ps) => ps.join("-"))
        .filter((n) => /^[a-z]/.test(n));
    const states = fc.dictionary(name, fc.uniqueArray(name, { maxLength: 2 }), { minKeys: 2, maxKeys: 4 });
    // Each sample: refused with the message that names the clash, or planned without any clash.
    test("refused by the config, naming the clash, or planned with distinct URNs and aliases", async () => {
        const samples = fc.sample(states, { seed: 18, numRuns: 40 });
        let planned = 0;
        let refused = 0;
        for (const sample of samples) {
            const doc = exampleStack();
            doc.config["microvm-infra:states"] = Object.fromEntries(
                Object.entries(sample).map(([n, snaps]) => [n, { snapshots: snaps }]),
            );
            const problems = configProblems(rawOf(doc));
            if (problems.length > 0) {
                expect(
                    problems.every(
                        (p) =>
                            /^states\.[a-z0-9-]+: its resources would be known by the name /.test(p) ||
                            /snapshot name|state name/.test(p),
                    ),
                ).toBe(true);
                refused++;
                continue;
            }
            if (planned < 6) {
                expect(collisions(await planDoc(doc))).toEqual([]);
                planned++;
            }
        }
        // The generator really produces both kinds.
        expect(refused).toBeGreaterThan(0);
        expect(planned).toBeGreaterThan(0);
    });

    test("the issue's pair: state x with snapshot y-state next to a state x-snap-y is refused", () => {
        const doc = exampleStack();
        doc.config["microvm-infra:states"] = { x: { snapshots: ["y-state"] }, "x-snap-y": {} };
        expect(configProblems(rawOf(doc))).toEqual([
            "states.x-snap-y: its resources would be known by the name x-snap-y-state, which is already the former name of snapshot x@y-state's resource (kept as an alias); rename this state (or that one)",
        ]);
    });
});
