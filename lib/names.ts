/**
 * The one name rule for slots, states and snapshots (its data: nixos/rules/rules.json `name`, which
 * nixos/lib/rules.nix reads too; tests/fixtures/names.json is its
 * accept/reject table, run by the TypeScript, bash and Nix tests alike): lowercase ASCII letters,
 * digits and '-', starting with a letter and not ending with '-'. Slots at most 12 characters, so
 * `br-<slot>` and `vm-<slot>` fit Linux's 15-character interface names, and never `states` (where
 * vm-state keeps the states); states and snapshots at most 63.
 */
import { shown } from "./redact";
import { got, rules, whole } from "./rules";

export { dnsLabelProblem } from "./rules";

export type NameKind = "slot" | "host" | "state" | "snapshot";

/** Hosts follow the slot rule: they name resources and tailnet devices (`microvm-<host>`, `<hostname>-<host>`). */
export const maxNameLength: Readonly<Record<NameKind, number>> = rules.name.maxLength;
export const reservedSlotNames: readonly string[] = rules.name.reserved.slot;
export const nameRule = rules.name.valid;

const pattern = whole(rules.name.pattern);

/** Why `name` is not a valid name of that kind, or undefined when it is. */
export function nameProblem(kind: NameKind, name: string): string | undefined {
    if (!pattern.test(name)) {
        return `${kind} name must be ${nameRule}, ${got(name)}`;
    }
    if (name.length > maxNameLength[kind]) {
        return `${kind} name must be at most ${maxNameLength[kind]} characters, got ${name.length} (${shown(name)})`;
    }
    if ((rules.name.reserved[kind] as readonly string[]).includes(name)) {
        const why = kind === "slot" ? "" : "hosts follow the slot rule, and ";
        return `${kind} name "${name}" is reserved (${why}vm-state keeps the states in <root>/${name})`;
    }
    return undefined;
}

/**
 * A fleet host's own names, from the one-host names: the host `primary` keeps them (so a stack
 * can list its one host under `hosts` without a replacement), any other adds `-<host>`:
 * resources `microvm-<host>-*`, tailnet name `<tailscale.hostname>-<host>`.
 */
export function hostScopedName(base: string, host: string, primary: string): string {
    return host === primary ? base : `${base}-${host}`;
}

/** Throws when any of `names` is not a valid name of that kind (components check their args). */
export function checkNames(kind: NameKind, names: readonly string[]): void {
    for (const name of names) {
        const problem = nameProblem(kind, name);
        if (problem) {
            throw new Error(problem);
        }
    }
}
