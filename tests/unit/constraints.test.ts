/**
 * The constraint table (lib/constraints) against every resource the program declares: the example
 * stack, every fixture stack and generated variants. Every value sent to AWS, Tailscale and the SSH
 * hosts keeps the table's rules, every property set has an entry, nothing set can differ from what
 * a refresh reads back; where the config lets a user produce a value the table refuses, the config
 * refuses it first, naming the key.
 */
import { existsSync, readdirSync, readFileSync } from "fs";
import { join } from "path";
import fc from "fast-check";
import {
    checkResources as checkAll,
    isRecordedStandIn,
    Problem,
    ruleProblem,
    secretRecorded,
} from "../../lib/constraints/check";
import { secretPlaceholder } from "../../tools/plan/stackFile";
import { constraints, replaceOnChange } from "../../lib/constraints";
import { revisions } from "../../lib/constraints/revisions";
import { facts } from "../../lib/constraints/facts";
import { isCodeSource, ReadsBack } from "../../lib/constraints/types";
import { metalTypes } from "../../infra/instanceTypes";
import { planStack } from "../../tools/plan/run";
import { configProblems } from "../helpers/config";
import { examplePlan, exampleStack, planDoc, repoRoot, StackDoc } from "../helpers/stacks";

jest.setTimeout(600000);

/**
 * What the mock runtime answers for ids and lookups only AWS knows (tools/plan/mockOutputs.ts:
 * `<name>-id`, `ami-0placeholder…`, `vol-0placeholder…`): stand-ins, not values the program chose.
 */
const mockAnswer = (v: unknown): boolean =>
    isRecordedStandIn(v) || (typeof v === "string" && /placeholder|-id$/i.test(v));
const checkResources = (resources: Parameters<typeof checkAll>[0]) => checkAll(resources, mockAnswer);

const describeProblems = (problems: Problem[]) =>
    problems.map((p) => `${p.urn.split("::").pop()} (${p.type}) ${p.path}: ${p.problem}`);

describe("the table itself", () => {
    test("every entry cites a source, and every code source a revision that says what it stands for", () => {
        for (const c of constraints) {
            expect({ entry: `${c.type} ${c.property}`, sources: c.sources.length > 0 }).toEqual({
                entry: `${c.type} ${c.property}`,
                sources: true,
            });
            for (const s of c.sources) {
                if (isCodeSource(s)) {
                    expect(revisions[s.rev]).toBeDefined();
                    expect(s.line).toBeGreaterThan(0);
                    expect(s.path).not.toMatch(/^\/|\.\./);
                } else {
                    expect(s.url).toMatch(/^https:\/\//);
                    expect(s.says.length).toBeGreaterThan(10);
                }
            }
        }
    });

    test("every readsBack rule says one of as sent, canonical form or must be unset, and cites the Read it comes from", () => {
        const readsBack = constraints.flatMap((c) =>
            c.rules
                .filter((r): r is ReadsBack => r.kind === "readsBack")
                .map((r) => ({ entry: `${c.type} ${c.property}`, r })),
        );
        expect(readsBack.length).toBeGreaterThan(40);
        for (const { entry, r } of readsBack) {
            expect({ entry, how: ["asSent", "canonical", "mustBeUnset"].filter((k) => k in r) }).toEqual({
                entry,
                how: [expect.any(String)],
            });
            expect({ entry, cited: r.sources.some(isCodeSource) }).toEqual({ entry, cited: true });
            for (const s of r.sources.filter(isCodeSource)) {
                expect(revisions[s.rev]).toBeDefined();
                expect(s.line).toBeGreaterThan(0);
                expect(s.alsoAt === undefined || revisions[s.alsoAt.rev] !== undefined).toBe(true);
            }
            // Only a property that forces replacement needs one; a statement elsewhere is noise nothing checks.
            expect({
                entry,
                forcesReplacement: constraints
                    .find((c) => `${c.type} ${c.property}` === entry)!
                    .rules.some((x) => x.kind === "forcesReplacement"),
            }).toEqual({ entry, forcesReplacement: true });
        }
    });

    test("each property of a type has one entry", () => {
        const keys = constraints.map((c) => `${c.type} ${c.property}`);
        expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    });

    test("every revision names its repository, the commit read and how it relates to the pin", () => {
        for (const r of Object.values(revisions)) {
            expect(r.repo).toMatch(/^[\w.-]+\/[\w.-]+$/);
            expect(r.pinned.length).toBeGreaterThan(5);
            expect(r.relation.length).toBeGreaterThan(5);
        }
    });

    test("every fact cites a source, and is cited by its id in a file that relies on it", () => {
        for (const [id, f] of Object.entries(facts)) {
            expect(f.sources.length).toBeGreaterThan(0);
            for (const s of f.sources) {
                if (isCodeSource(s)) {
                    expect(revisions[s.rev]).toBeDefined();
                    if (s.alsoAt) {
                        expect(revisions[s.alsoAt.rev]).toBeDefined();
                    }
                }
            }
            // The files reliedOnBy names exist, and at least one of them names the fact.
            const files = [...new Set(f.reliedOnBy.match(/[\w./-]+\/[\w.-]+\.(ts|sh|bash|nix|md)\b/g) ?? [])];
            expect({ id, files: files.length > 0 }).toEqual({ id, files: true });
            expect({ id, missing: files.filter((p) => !existsSync(join(repoRoot, p))) }).toEqual({ id, missing: [] });
            expect({ id, citedIn: files.some((p) => readFileSync(join(repoRoot, p), "utf8").includes(id)) }).toEqual({
                id,
                citedIn: true,
            });
        }
    });

    test("replace-on-change comes from the table: the properties the providers force a replacement on", () => {
        expect(replaceOnChange["aws:ec2/instance:Instance"]).toEqual(
            expect.arrayContaining([
                "ami",
                "associatePublicIpAddress",
                "availabilityZone",
                "keyName",
                "subnetId",
                "rootBlockDevice.encrypted",
            ]),
        );
        // Changed in place by the providers (the old table said otherwise): the type is stop/modify/start, a copy's path is copied again.
        expect(replaceOnChange["aws:ec2/instance:Instance"]).not.toContain("instanceType");
        expect(replaceOnChange["command:remote:CopyToRemote"]).toEqual(["triggers"]);
        expect(replaceOnChange["aws:ebs/volume:Volume"]).not.toContain("size");
    });

    test.each([
        [{ kind: "pattern", regex: /^[0-9A-Za-z _-]+$/, says: "x" }, "every 24h, keep 7", "must match x"],
        [{ kind: "length", max: 3 }, "abcd", "must be 0 to 3 characters long, is 4"],
        [{ kind: "range", min: 1, max: 1000, integer: true }, 1.5, "must be a whole number from 1 to 1000"],
        [{ kind: "cidr", family: 4, prefix: [16, 28] }, "172.20.1.0/29", "must have a prefix from /16 to /28"],
        [{ kind: "cidr", family: 4 }, "172.20.1.7/24", "must be written as EC2 stores it, 172.20.1.0/24"],
        [{ kind: "cidr", family: 6 }, "2001:DB8::/32", "must be written as EC2 stores it, 2001:db8::/32"],
        [{ kind: "enum", values: ["ENABLED"] }, "on", 'must be one of "ENABLED"'],
    ] as const)("rule %o refuses %p", (rule, value, message) => {
        expect(ruleProblem(rule as any, value)).toBe(message);
    });
});

/**
 * `inputs` holding `value` at a table property: `a.b` nests, `a[]` is a list of one, `a{key}` a map
 * with `value` as its key, `a{value}` a map with `value` under the key "Name".
 */
function planted(property: string, value: unknown): Record<string, unknown> {
    const tokens = property.match(/[^.[{]+|\[\]|\{key\}|\{value\}/g)!;
    let v: unknown = value;
    for (const t of [...tokens].reverse()) {
        v = t === "[]" ? [v] : t === "{key}" ? { [String(v)]: "v" } : t === "{value}" ? { Name: v } : { [t]: v };
    }
    return v as Record<string, unknown>;
}

/** Values tried, in order, until one breaks a rule; a checked rule none of them breaks cannot fail. */
const breakers: unknown[] = [
    42,
    "",
    "aws:Name",
    "'\u00a0\u0000\"",
    "x".repeat(140000),
    "not a cidr",
    "10.1.0.7/24",
    "10.1.0.0/30",
    "10.0.0.0/8",
    "2001:DB8::/32",
    -1,
    1.5,
    1e12,
    true,
];
const checked = new Set(["pattern", "length", "range", "enum", "cidr", "json"]);

describe("the check fails when a declared resource breaks the table (planted violations)", () => {
    const resource = (type: string, inputs: Record<string, unknown>, secretInputs: string[] = []) => ({
        urn: `urn:pulumi:dev::microvm-infra::${type}::planted`,
        type,
        custom: true,
        inputs,
        secretInputs,
    });

    test("the recorded stand-in for a secret is the offline plan's", () => {
        expect(secretRecorded).toBe(secretPlaceholder);
    });

    test("a type without entries, and a property without an entry, are problems", () => {
        expect(checkAll([resource("aws:ec2/eip:Nope", {})]).map((p) => p.problem)).toEqual([
            "no entry in the constraint table for this resource type",
        ]);
        expect(checkAll([resource("aws:ec2/vpc:Vpc", { notAProperty: "x" })]).map((p) => p.path)).toEqual([
            "notAProperty",
        ]);
    });

    // Every checked rule of every entry: a value that breaks it, alone on a resource of its type, is reported at that property.
    const cases = constraints.flatMap((c) =>
        c.rules.filter((r) => checked.has(r.kind)).map((r) => [`${c.type} ${c.property} (${r.kind})`, c, r] as const),
    );
    test.each(cases)("%s: a value that breaks it is reported", (_what, c, rule) => {
        const keyed = c.property.endsWith("{key}");
        const bad = breakers.find((v) => (!keyed || typeof v === "string") && ruleProblem(rule, v) !== undefined);
        expect({ rule: `${c.type} ${c.property}`, breakable: bad !== undefined }).toEqual({
            rule: `${c.type} ${c.property}`,
            breakable: true,
        });
        const problems = checkAll([resource(c.type, planted(c.property, bad))]);
        expect(
            problems.filter((p) => p.property === c.property && p.problem.endsWith(ruleProblem(rule, bad)!)),
        ).toHaveLength(1);
    });

    const readBack = constraints.filter((c) => c.rules.some((r) => r.kind === "readsBack" && "mustBeUnset" in r));
    test.each(readBack.map((c) => [`${c.type} ${c.property}`, c] as const))(
        "%s: setting what a refresh reads back otherwise is reported",
        (_what, c) => {
            const problems = checkAll([resource(c.type, planted(c.property, false))]);
            expect(problems.some((p) => p.property === c.property && p.problem.startsWith("must not be set"))).toBe(
                true,
            );
        },
    );

    // A property that forces replacement and says nothing of what a refresh reads back: setting it is a problem, so no
    // covered plan can set a new one unexamined. These are the entries no covered plan sets today.
    const unexamined = constraints.filter(
        (c) => c.rules.some((r) => r.kind === "forcesReplacement") && !c.rules.some((r) => r.kind === "readsBack"),
    );
    test.each(unexamined.map((c) => [`${c.type} ${c.property}`, c] as const))(
        "%s: forces replacement, no readsBack: setting it is reported",
        (_what, c) => {
            const problems = checkAll([resource(c.type, planted(c.property, "x"))]);
            expect(
                problems.filter(
                    (p) =>
                        p.property === c.property &&
                        p.problem.startsWith("forces replacement but the table does not say what a refresh reads back"),
                ),
            ).toHaveLength(1);
        },
    );

    // Every normalising read-back: a value sent in another form than the one read back is reported, the canonical form is not.
    const normalised = constraints.flatMap((c) =>
        c.rules
            .filter((r): r is Extract<ReadsBack, { canonical: unknown }> => r.kind === "readsBack" && "canonical" in r)
            .map((r) => [`${c.type} ${c.property}`, c, r] as const),
    );
    test.each(normalised)("%s: a value a refresh reads back otherwise is reported", (_what, c, rule) => {
        const bad = ["10.1.0.7/24", "2001:DB8::/32", false].find((v) => rule.canonical.of(v) !== v);
        expect(bad).toBeDefined();
        const readBackProblem = (v: unknown) =>
            checkAll([resource(c.type, planted(c.property, v))]).filter(
                (p) => p.property === c.property && p.problem.startsWith("a refresh reads back"),
            );
        expect(readBackProblem(bad).map((p) => p.problem)).toEqual([
            `a refresh reads back ${rule.canonical.form}, ${JSON.stringify(rule.canonical.of(bad))}: send that`,
        ]);
        expect(readBackProblem(rule.canonical.of(bad))).toEqual([]);
    });

    const secrets = constraints.filter((c) => c.rules.some((r) => r.kind === "secret"));
    test.each(secrets.map((c) => [`${c.type} ${c.property}`, c] as const))(
        "%s: sent in clear is reported, sent as a secret is not",
        (_what, c) => {
            const clear = checkAll([resource(c.type, planted(c.property, "in clear"))]);
            expect(
                clear.some((p) => p.property === c.property && p.problem.startsWith("must be a Pulumi secret")),
            ).toBe(true);
            expect(checkAll([resource(c.type, planted(c.property, secretRecorded))])).toEqual([]);
        },
    );

    test("the table has entries of every kind the check enforces", () => {
        const kinds = new Set(constraints.flatMap((c) => c.rules.map((r) => r.kind)));
        expect([...checked, "secret"].filter((k) => !kinds.has(k as never))).toEqual([]);
        expect(readBack.length).toBeGreaterThan(0);
        expect(normalised.length).toBeGreaterThan(0);
    });
});

describe("every declared resource keeps the table", () => {
    test("the example stack (Pulumi.dev.yaml)", async () => {
        expect(describeProblems(checkResources((await examplePlan()).resources))).toEqual([]);
    });

    const fixtures = readdirSync(join(repoRoot, "tests/fixtures/stacks"))
        .filter((f) => f.endsWith(".yaml"))
        .sort();
    test.each(fixtures)("fixture %s", async (file) => {
        const plan = await planStack(join(repoRoot, "tests/fixtures/stacks", file), "dev");
        // Not vacuous: the fixture plans AWS resources (a refused config would plan none).
        expect(plan.resources.filter((r) => r.custom && r.type.startsWith("aws:")).length).toBeGreaterThan(5);
        expect(describeProblems(checkResources(plan.resources))).toEqual([]);
    });

    test("the example with backups, published ports, IPv6 admins and a pinned AMI", async () => {
        const doc = exampleStack();
        doc.config["microvm-infra:storage"].backups = { everyHours: 24, keep: 7 };
        doc.config["microvm-infra:host"].adminCidrs = ["203.0.113.0/24", "2001:db8::/48"];
        doc.config["microvm-infra:host"].ami = "ami-0123456789abcdef0";
        doc.config["microvm-infra:tailscale"].managePolicy = true;
        doc.config["microvm-infra:slots"].slot2 = {
            publish: [{ port: 80, to: "internet", hostPort: 8080, sources: ["0.0.0.0/0", "198.51.100.0/24"] }],
        };
        const plan = await planDoc(doc);
        expect(plan.resources.some((r) => r.type === "aws:dlm/lifecyclePolicy:LifecyclePolicy")).toBe(true);
        expect(describeProblems(checkResources(plan.resources))).toEqual([]);
    });
});

/** Edits of the example a user can make, over the keys whose values reach AWS, Tailscale or the hosts. */
const edits = fc.record({
    stack: fc.constantFrom("dev", "prod", "eu.prod", "team_x", "a-b-c"),
    instanceType: fc.constantFrom(...Object.keys(metalTypes)),
    rootVolumeGiB: fc.integer({ min: 20, max: 16384 }),
    adminCidrs: fc.subarray(
        ["203.0.113.0/24", "198.51.100.7/32", "2001:db8::/48", "2001:DB8:0:0:1::/80", "0.0.0.0/0"],
        { minLength: 1 },
    ),
    backend: fc.constantFrom("zfs", "xfs", "files"),
    volumeGiB: fc.integer({ min: 8, max: 16384 }),
    backups: fc.option(
        fc.record({
            everyHours: fc.constantFrom(1, 2, 3, 4, 6, 8, 12, 24, 5),
            keep: fc.integer({ min: 1, max: 1000 }),
        }),
    ),
    tag: fc.oneof(fc.constant("tag:microvm-host"), fc.stringMatching(/^tag:[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/)),
    hostname: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/),
    subnetPrefix: fc.integer({ min: 16, max: 30 }),
    publishSources: fc.subarray(["0.0.0.0/0", "198.51.100.0/24", "192.0.2.1/32"], { minLength: 1 }),
    hostPort: fc.integer({ min: 1, max: 65535 }),
});

type Edits = typeof edits extends fc.Arbitrary<infer T> ? T : never;

function applyEdits(e: Edits): StackDoc {
    const doc = exampleStack();
    const c = doc.config;
    Object.assign(c["microvm-infra:host"], {
        instanceType: e.instanceType,
        rootVolumeGiB: e.rootVolumeGiB,
        adminCidrs: e.adminCidrs,
        allowSshFromAnywhere: true,
    });
    c["microvm-infra:storage"] = {
        backend: e.backend,
        volumeGiB: e.volumeGiB,
        ...(e.backups && e.backend !== "files" ? { backups: e.backups } : {}),
    };
    if (e.backend !== "zfs") {
        delete c["microvm-infra:states"].slot1.autoSnapshots;
    }
    Object.assign(c["microvm-infra:tailscale"], { tags: [e.tag], hostname: e.hostname });
    c["microvm-infra:network"].subnetCidr = `172.20.0.0/${e.subnetPrefix}`;
    c["microvm-infra:slots"].slot2 = {
        publish: [{ port: 80, to: "internet", hostPort: e.hostPort, sources: e.publishSources }],
    };
    return doc;
}

describe("generated variants: the config refuses what the table would, or the plan keeps the table", () => {
    test("fast-check over the keys that reach AWS, Tailscale and the hosts", async () => {
        let planned = 0;
        await fc.assert(
            fc.asyncProperty(edits, async (e) => {
                const doc = applyEdits(e);
                const raw = Object.fromEntries(
                    Object.entries(doc.config)
                        .filter(([k]) => k.startsWith("microvm-infra:"))
                        .map(([k, v]) => [k.slice("microvm-infra:".length), v]),
                );
                const refused = configProblems(raw);
                if (refused.length > 0) {
                    if (process.env.CONSTRAINTS_DEBUG) {
                        console.log(refused);
                    }
                    return;
                }
                planned++;
                const plan = await planDoc(doc, e.stack);
                expect(describeProblems(checkResources(plan.resources))).toEqual([]);
            }),
            {
                numRuns: Number(process.env.CONSTRAINTS_RUNS ?? 24),
                seed: process.env.CONSTRAINTS_SEED ? Number(process.env.CONSTRAINTS_SEED) : undefined,
            },
        );
        // The generator must reach the program, not only the config's refusals.
        expect(planned).toBeGreaterThan(3);
    });
});
