/**
 * The one name rule for slots, states and snapshots (tests/fixtures/names.json is its
 * accept/reject table, run by the TypeScript, bash and Nix tests alike): lowercase ASCII letters,
 * digits and '-', starting with a letter and not ending with '-'. Slots at most 12 characters, so
 * `br-<slot>` and `vm-<slot>` fit Linux's 15-character interface names, and never `states` (where
 * vm-state keeps the states); states and snapshots at most 63.
 */
import { shown } from "./redact";

export type NameKind = "slot" | "host" | "state" | "snapshot";

/** Hosts follow the slot rule: they name resources and tailnet devices (`microvm-<host>`, `<hostname>-<host>`). */
export const maxNameLength: Readonly<Record<NameKind, number>> = { slot: 12, host: 12, state: 63, snapshot: 63 };
export const reservedSlotNames: readonly string[] = ["states"];
export const nameRule = "lowercase letters, digits and '-', starting with a letter and not ending with '-'";

const pattern = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/** Why `name` is not a valid name of that kind, or undefined when it is. */
export function nameProblem(kind: NameKind, name: string): string | undefined {
    if (!pattern.test(name)) {
        return `${kind} name must be ${nameRule}, got ${shown(name)}`;
    }
    if (name.length > maxNameLength[kind]) {
        return `${kind} name must be at most ${maxNameLength[kind]} characters, got ${name.length} (${shown(name)})`;
    }
    if ((kind === "slot" || kind === "host") && reservedSlotNames.includes(name)) {
        const why = kind === "slot" ? "" : "hosts follow the slot rule, and ";
        return `${kind} name "${name}" is reserved (${why}vm-state keeps the states in <root>/${name})`;
    }
    return undefined;
}

/** Why `name` is not a DNS label (a host's hostname and tailnet name), or undefined when it is. */
export function dnsLabelProblem(name: string): string | undefined {
    return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)
        ? undefined
        : `must be a DNS label (lowercase letters, digits, '-', at most 63 characters), got ${shown(name)}`;
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
