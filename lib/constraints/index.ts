/**
 * The constraint table: every rule a provider, an API, the Pulumi engine or a host imposes on what
 * the program sends, once, with its source (one file per provider; revisions.ts says which
 * upstream revision each was read at). `check.ts` holds every declared resource to it
 * (tests/unit/constraints.test.ts), the offline plan's replace-or-update comes from its
 * `forcesReplacement` rules, and the config and components cite its entries.
 */
import { awsConstraints } from "./aws";
import { commandConstraints } from "./command";
import { tailscaleConstraints } from "./tailscale";
import { tlsConstraints } from "./tls";
import { Constraint, Rule, RuleKind } from "./types";

export const constraints: readonly Constraint[] = [
    ...awsConstraints,
    ...tailscaleConstraints,
    ...commandConstraints,
    ...tlsConstraints,
];

/** The entries for one resource type. */
export function constraintsFor(type: string): Constraint[] {
    return constraints.filter((c) => c.type === type);
}

/** The one entry for `type`'s `property`; throws if there is none (a caller relying on a rule names it). */
export function constraint(type: string, property: string): Constraint {
    const found = constraints.find((c) => c.type === type && c.property === property);
    if (!found) {
        throw new Error(`no constraint for ${type} ${property}`);
    }
    return found;
}

/** The rule of `kind` in an entry, for code that applies it (a config check, a message). */
export function rule<K extends RuleKind>(c: Constraint, kind: K): Extract<Rule, { kind: K }> {
    const found = c.rules.find((r) => r.kind === kind);
    if (!found) {
        throw new Error(`${c.type} ${c.property} has no ${kind} rule`);
    }
    return found as Extract<Rule, { kind: K }>;
}

/** The input path of a table property, as the offline plan's diff writes changed paths (`a.b`, no `[]`). */
function diffPath(property: string): string {
    return property.replace(/\[\]/g, "").replace(/\{(key|value)\}$/, "");
}

/**
 * Which input changes make a provider replace a resource instead of updating it, per declared
 * type: the table's `forcesReplacement` rules (plus each resource's own `replaceOnChanges`, which
 * the plan adds). `--against` uses it to say update or replace; `pulumi preview` remains
 * authoritative: it asks the provider itself.
 */
export const replaceOnChange: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
    [...new Set(constraints.map((c) => c.type))].map((type) => [
        type,
        [
            ...new Set(
                constraintsFor(type)
                    .filter((c) => c.rules.some((r) => r.kind === "forcesReplacement" && r.when === undefined))
                    .map((c) => diffPath(c.property)),
            ),
        ],
    ]),
);
