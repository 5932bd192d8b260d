/**
 * The one name rule for slots, states and snapshots (tests/fixtures/names.json is its
 * accept/reject table, run by the TypeScript, bash and Nix tests alike): lowercase ASCII letters,
 * digits and '-', starting with a letter and not ending with '-'. Slots at most 12 characters, so
 * `br-<slot>` and `vm-<slot>` fit Linux's 15-character interface names, and never `states` (where
 * vm-state keeps the states); states and snapshots at most 63.
 */
export type NameKind = "slot" | "host" | "state" | "snapshot";

/** Hosts follow the slot rule: they name resources and tailnet devices (`microvm-<host>`, `<hostname>-<host>`). */
export const maxNameLength: Readonly<Record<NameKind, number>> = { slot: 12, host: 12, state: 63, snapshot: 63 };
export const reservedSlotNames: readonly string[] = ["states"];
export const nameRule = "lowercase letters, digits and '-', starting with a letter and not ending with '-'";

const pattern = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/** Why `name` is not a valid name of that kind, or undefined when it is. */
export function nameProblem(kind: NameKind, name: string): string | undefined {
    if (!pattern.test(name)) {
        return `${kind} name must be ${nameRule}, got ${JSON.stringify(name)}`;
    }
    if (name.length > maxNameLength[kind]) {
        return `${kind} name must be at most ${maxNameLength[kind]} characters, got ${name.length} ("${name}")`;
    }
    if ((kind === "slot" || kind === "host") && reservedSlotNames.includes(name)) {
        return `slot name "${name}" is reserved (vm-state keeps the states in <root>/${name})`;
    }
    return undefined;
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
