/**
 * Holds declared resources to the constraint table: every value the program sends satisfies the
 * entries for its property, every property it sets has an entry, and nothing it sets can differ
 * from what a refresh reads back. Pure: takes the resources as the offline plan records them.
 */
import { parseCidr, networkOf } from "../cidr";
import { constraints } from "./index";
import { Constraint, ReadsBack, Rule } from "./types";

/** What `check` needs of a declared resource (tools/plan/mockRuntime.ts PlannedResource has it). */
export interface DeclaredResource {
    readonly urn: string;
    readonly type: string;
    readonly custom: boolean;
    readonly inputs: Record<string, unknown>;
    /** Input paths whose values are secret (recorded redacted). */
    readonly secretInputs: readonly string[];
}

export interface Problem {
    readonly urn: string;
    readonly type: string;
    /** The concrete path (`tags.Name`, `policyDetails.schedules[0].name`). */
    readonly path: string;
    /** The table property it matched, when one did. */
    readonly property?: string;
    readonly problem: string;
}

/** What the offline plan records in place of a secret value (tools/plan/mockRuntime.ts redactSecrets). */
export const secretRecorded = "[secret]";

/** A value the offline plan records in place of something only AWS or the host knows, or a secret. */
export function isRecordedStandIn(v: unknown): boolean {
    return typeof v === "string" && (/^\[placeholder: [^\]]*\]$/.test(v) || v === secretRecorded);
}

interface Leaf {
    /** The concrete path. */
    readonly path: string;
    /** The table form: list indices as [], map keys as {key}, map values as {value}. */
    readonly property: string;
    readonly value: unknown;
}

/**
 * The leaves of `inputs`: maps (a table property `p{key}` or `p{value}` exists) give their keys and
 * values, `opaque` properties stop the walk, everything else is walked to its scalars.
 */
function leaves(type: string, inputs: Record<string, unknown>, isStandIn: (v: unknown) => boolean): Leaf[] {
    const table = constraints.filter((c) => c.type === type);
    const isMap = (p: string) => table.some((c) => c.property === `${p}{key}` || c.property === `${p}{value}`);
    const isOpaque = (p: string) =>
        table.some((c) => c.property === p && c.rules.some((r) => r.kind === "opaque" || r.kind === "secret"));
    const out: Leaf[] = [];
    const walk = (value: unknown, path: string, property: string): void => {
        if (isOpaque(property) || isStandIn(value)) {
            out.push({ path, property, value });
        } else if (Array.isArray(value)) {
            value.forEach((v, i) => walk(v, `${path}[${i}]`, `${property}[]`));
        } else if (typeof value === "object" && value !== null && isMap(property)) {
            for (const [k, v] of Object.entries(value)) {
                out.push({ path: `${path}{${k}}`, property: `${property}{key}`, value: k });
                walk(v, `${path}.${k}`, `${property}{value}`);
            }
        } else if (typeof value === "object" && value !== null) {
            for (const [k, v] of Object.entries(value)) {
                walk(v, path ? `${path}.${k}` : k, property ? `${property}.${k}` : k);
            }
        } else if (value !== undefined) {
            out.push({ path, property, value });
        }
    };
    walk(inputs, "", "");
    return out;
}

/** A canonical network address (what EC2 stores), or undefined when `text` is not a CIDR of `family`. */
export function canonicalCidr(text: string, family?: 4 | 6): string | undefined {
    const c = parseCidr(text);
    return c && (family === undefined || c.family === family) ? networkOf(c) : undefined;
}

/** Why `value` breaks `rule`, or undefined. Rules that describe behaviour (replace, rate) never fail here. */
export function ruleProblem(rule: Rule, value: unknown): string | undefined {
    switch (rule.kind) {
        case "pattern":
            return typeof value === "string" && rule.regex.test(value) ? undefined : `must match ${rule.says}`;
        case "length": {
            if (typeof value !== "string") {
                return "must be a string";
            }
            const n = rule.unit === "bytes" ? Buffer.byteLength(value) : [...value].length;
            return n < (rule.min ?? 0) || n > rule.max
                ? `must be ${rule.min ?? 0} to ${rule.max} ${rule.unit ?? "characters"} long, is ${n}`
                : undefined;
        }
        case "range":
            return typeof value !== "number" ||
                Number.isNaN(value) ||
                (rule.integer && !Number.isInteger(value)) ||
                (rule.min !== undefined && value < rule.min) ||
                (rule.max !== undefined && value > rule.max)
                ? `must be a${rule.integer ? " whole" : ""} number from ${rule.min ?? "-inf"} to ${rule.max ?? "inf"}`
                : undefined;
        case "enum":
            return rule.values.includes(value as string | number | boolean)
                ? undefined
                : `must be one of ${rule.values.map((v) => JSON.stringify(v)).join(", ")}`;
        case "cidr": {
            const canonical = typeof value === "string" ? canonicalCidr(value, rule.family) : undefined;
            if (canonical === undefined) {
                return `must be an IPv${rule.family} CIDR`;
            }
            if (canonical !== value) {
                return `must be written as EC2 stores it, ${canonical}`;
            }
            const prefix = Number(canonical.split("/")[1]);
            return rule.prefix && (prefix < rule.prefix[0] || prefix > rule.prefix[1])
                ? `must have a prefix from /${rule.prefix[0]} to /${rule.prefix[1]}`
                : undefined;
        }
        case "json":
            try {
                JSON.parse(String(value));
                return undefined;
            } catch {
                return "must be JSON";
            }
        default:
            return undefined;
    }
}

function matchingEntries(table: readonly Constraint[], property: string): Constraint[] {
    return table.filter((c) => c.property === property);
}

/**
 * What a refresh would read back differently for one leaf that is set: a property that forces
 * replacement must say what a refresh reads back (else a new one could slip in unexamined); one
 * read back as a fact of the world must not be set; one read back normalised must be sent in that form.
 */
function readBackProblems(
    r: DeclaredResource,
    leaf: Leaf,
    matched: readonly Constraint[],
    isStandIn: (v: unknown) => boolean,
): Problem[] {
    const at = { urn: r.urn, type: r.type, path: leaf.path };
    const problems: Problem[] = [];
    for (const c of matched) {
        const readsBack = c.rules.filter((rl): rl is ReadsBack => rl.kind === "readsBack");
        if (readsBack.length === 0 && c.rules.some((rl) => rl.kind === "forcesReplacement")) {
            problems.push({
                ...at,
                property: c.property,
                problem:
                    "forces replacement but the table does not say what a refresh reads back (add a readsBack rule citing the provider's Read)",
            });
        }
        for (const rl of readsBack) {
            if ("mustBeUnset" in rl) {
                problems.push({ ...at, property: c.property, problem: `must not be set: ${rl.says}` });
            } else if ("canonical" in rl && !isStandIn(leaf.value) && rl.canonical.of(leaf.value) !== leaf.value) {
                problems.push({
                    ...at,
                    property: c.property,
                    problem: `a refresh reads back ${rl.canonical.form}, ${JSON.stringify(rl.canonical.of(leaf.value)).slice(0, 80)}: send that`,
                });
            }
        }
    }
    return problems;
}

/**
 * Every problem with `resources` against the table: a custom resource of a type the table does not
 * know, a property it sets that has no entry, a value that breaks an entry, a property set that a
 * refresh reads back as something else. Empty when the program keeps the table. `isStandIn`: the
 * values recorded in place of what only AWS knows (ids, looked-up AMIs), which are not checked.
 */
export function checkResources(
    resources: readonly DeclaredResource[],
    isStandIn: (v: unknown) => boolean = isRecordedStandIn,
): Problem[] {
    const problems: Problem[] = [];
    for (const r of resources.filter((x) => x.custom)) {
        const table = constraints.filter((c) => c.type === r.type);
        if (table.length === 0) {
            problems.push({
                urn: r.urn,
                type: r.type,
                path: "",
                problem: "no entry in the constraint table for this resource type",
            });
            continue;
        }
        for (const leaf of leaves(r.type, r.inputs, isStandIn)) {
            const matched = matchingEntries(table, leaf.property);
            if (matched.length === 0) {
                problems.push({
                    urn: r.urn,
                    type: r.type,
                    path: leaf.path,
                    problem: `property ${leaf.property} has no entry in the constraint table (add its rules, or an "unconstrained" entry citing where that was checked)`,
                });
                continue;
            }
            problems.push(...readBackProblems(r, leaf, matched, isStandIn));
            for (const c of matched) {
                for (const rl of c.rules) {
                    // What the table says is secret must reach the engine as a secret, never in clear.
                    if (rl.kind === "secret" && leaf.value !== secretRecorded && !r.secretInputs.includes(leaf.path)) {
                        problems.push({
                            urn: r.urn,
                            type: r.type,
                            path: leaf.path,
                            property: c.property,
                            problem: `must be a Pulumi secret (${rl.checkedBy}); it is sent in clear`,
                        });
                    }
                    if (isStandIn(leaf.value) || rl.kind === "opaque" || rl.kind === "secret") {
                        continue;
                    }
                    const why = ruleProblem(rl, leaf.value);
                    if (why) {
                        problems.push({
                            urn: r.urn,
                            type: r.type,
                            path: leaf.path,
                            property: c.property,
                            problem: `${JSON.stringify(leaf.value).slice(0, 80)} ${why}`,
                        });
                    }
                }
            }
        }
    }
    return problems;
}
