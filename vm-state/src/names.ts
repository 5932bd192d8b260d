/**
 * The name rule of lib/names.ts (one rule for the program, vm-state and Nix; tests/fixtures/names.json
 * is its table), with vm-state's messages: a bad name is a usage error (exit 2) before anything runs.
 */
import { maxNameLength, NameKind, nameProblem, reservedSlotNames } from "../../lib/names";
import { exitCodes, VmStateError } from "./errors";
import { shown } from "./text";

export type { NameKind };

/** How vm-state words the rule in its messages (docs/vm-state.md "Names"). */
export const nameRuleText = "lowercase letters, digits and '-', starting with a letter, not ending with '-'";

export function isName(kind: NameKind, name: string): boolean {
    return nameProblem(kind, name) === undefined;
}

/** Why NAME is refused, as vm-state says it, or undefined. `statesDir` is named for the reserved `states`. */
export function nameError(kind: NameKind, name: string, statesDir: string): string | undefined {
    if (isName(kind, name)) {
        return undefined;
    }
    if (kind === "slot" && reservedSlotNames.includes(name)) {
        return `invalid slot name ${shown(name)}: reserved (vm-state keeps the states in ${statesDir})`;
    }
    return `invalid ${kind} name ${shown(name)}: use ${nameRuleText}, at most ${maxNameLength[kind]} characters`;
}

export function checkName(kind: NameKind, name: string, statesDir: string): void {
    const problem = nameError(kind, name, statesDir);
    if (problem !== undefined) {
        throw new VmStateError(exitCodes.usage, problem);
    }
}

/** STATE@SNAPSHOT, both checked. */
export function splitSnapshotRef(ref: string, statesDir: string): { state: string; snapshot: string } {
    const at = ref.indexOf("@");
    if (at < 0) {
        throw new VmStateError(exitCodes.usage, `expected STATE@SNAPSHOT, got ${shown(ref)}`);
    }
    const state = ref.slice(0, at);
    const snapshot = ref.slice(at + 1);
    checkName("state", state, statesDir);
    checkName("snapshot", snapshot, statesDir);
    return { state, snapshot };
}
