/**
 * The shape of the constraint table (lib/constraints/*.ts): what a provider, an API, the Pulumi
 * engine or the host imposes on a value the program sends, written down once with where it comes
 * from. Pure data and pure checks; `check.ts` holds every declared resource to it.
 */
import { RevisionKey } from "./revisions";

/** A line of upstream source at a revision `revisions.ts` describes. */
export interface CodeSource {
    readonly rev: RevisionKey;
    /** Path inside the revision's repository. */
    readonly path: string;
    readonly line: number;
    /** The same fact read again at another revision (the provider's newer source), where it was. */
    readonly alsoAt?: { readonly rev: RevisionKey; readonly where: string };
}

/** A published document (where no source states the rule): its address and the words relied on. */
export interface DocSource {
    readonly url: string;
    /** The sentence or section the rule comes from, quoted or closely paraphrased. */
    readonly says: string;
    /** When it was read. */
    readonly read: string;
}

export type Source = CodeSource | DocSource;

export function isCodeSource(s: Source): s is CodeSource {
    return (s as CodeSource).rev !== undefined;
}

/**
 * One thing true of a property's value. `pattern`, `length`, `range`, `enum`, `cidr` and `json`
 * are checked on every value the program sends; the others say how the provider or engine treats
 * the property, and are used by the plan (`forcesReplacement`), the read-back check (`readsBack`)
 * and the tools that explain a change (`growOnly`, `rateLimited`).
 */
export type Rule =
    | { readonly kind: "pattern"; readonly regex: RegExp; readonly says: string }
    | { readonly kind: "length"; readonly min?: number; readonly max: number; readonly unit?: "chars" | "bytes" }
    | { readonly kind: "range"; readonly min?: number; readonly max?: number; readonly integer?: boolean }
    | { readonly kind: "enum"; readonly values: readonly (string | number | boolean)[] }
    /** A network address in its canonical form (no host bits, IPv6 lower-case and compressed), within `prefix`. */
    | { readonly kind: "cidr"; readonly family: 4 | 6; readonly prefix?: readonly [number, number] }
    | { readonly kind: "json" }
    /** A change replaces the resource (the provider's ForceNew / RequiresReplace / replaceOnChanges). */
    | { readonly kind: "forcesReplacement"; readonly when?: string }
    /** What a refresh reads back for the property (see ReadsBack). */
    | ReadsBack
    /** The value may only grow (a smaller one is refused by the API). */
    | { readonly kind: "growOnly"; readonly says: string }
    /** How often the API accepts a change. */
    | { readonly kind: "rateLimited"; readonly says: string }
    /** A secret: never in the recorded inputs in clear; its rules are checked where it is made (`checkedBy`). */
    | { readonly kind: "secret"; readonly checkedBy: string }
    /** Any value: the subtree is not walked (command triggers, assets). */
    | { readonly kind: "opaque"; readonly says: string }
    /** No rule beyond its type: the source is where that was checked. */
    | { readonly kind: "unconstrained"; readonly says: string };

/**
 * The form a provider normalises a value to on read: `of` maps what is sent to what a refresh
 * reads back; `form` names it in messages ("EC2's canonical CIDR").
 */
export interface Canonical {
    readonly form: string;
    readonly of: (sent: unknown) => unknown;
}

/**
 * What a refresh (the provider's Read) reads back for a property, with the Read or flatten line
 * that does it (`sources`). One of:
 * - `asSent`: the value sent, either kept from the state or the API's record of it, unchanged;
 * - `canonical`: a normalised form; the program must send that form, or the next diff sees a change;
 * - `mustBeUnset`: a fact of the world (what the instance really has), so any value set can differ.
 * Every property that forces replacement and that the program sets has one (check.ts).
 */
export type ReadsBack = { readonly kind: "readsBack"; readonly says: string; readonly sources: readonly Source[] } & (
    { readonly asSent: true } | { readonly canonical: Canonical } | { readonly mustBeUnset: true }
);

/** A property a refresh reads back as it was sent, citing the Read line that shows it. */
export function readsBackAsSent(says: string, ...sources: Source[]): ReadsBack {
    return { kind: "readsBack", asSent: true, says, sources };
}

export type RuleKind = Rule["kind"];

/**
 * One property of one resource type. `property` is an input path: `a.b` a nested field, `a[]` the
 * items of a list, `a{key}` the keys of a map and `a{value}` its values.
 */
export interface Constraint {
    /** A Pulumi resource type token (`aws:ec2/instance:Instance`). */
    readonly type: string;
    readonly property: string;
    readonly rules: readonly Rule[];
    readonly sources: readonly Source[];
    readonly note?: string;
}

/** Entries for the properties of one type, written once per type. */
export function entries(type: string, props: readonly Omit<Constraint, "type">[]): Constraint[] {
    return props.map((p) => ({ type, ...p }));
}
