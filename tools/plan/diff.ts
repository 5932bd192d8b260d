/**
 * What applying one plan to a stack deployed from another would do, resource by resource, like
 * `git diff OLD`: create, update (with the changed input paths), replace, delete, unchanged.
 */
import { PlannedResource } from "./mockRuntime";
import { replaceOnChange } from "../../lib/constraints";

export interface Change {
    readonly urn: string;
    readonly type: string;
    /** Changed input paths (dotted, [i] for list items). */
    readonly paths: string[];
    /** For a replace: the paths that force it. */
    readonly replaceBecause?: string[];
    readonly deleteBeforeReplace?: boolean;
    /** For a delete: what happens to the real thing. */
    readonly note?: string;
    /**
     * For a command (remote or local): the commands `pulumi up` runs, in order. The provider runs
     * `create` again on any input change of a command without an `update`, so an update runs it.
     */
    readonly runs?: string[];
}

export interface PlanDiff {
    readonly create: Change[];
    readonly update: Change[];
    readonly replace: Change[];
    readonly delete: Change[];
    readonly unchanged: string[];
}

/** Dotted paths whose leaf values differ between two input trees. */
export function changedPaths(a: unknown, b: unknown, path = ""): string[] {
    if (JSON.stringify(a) === JSON.stringify(b)) {
        return [];
    }
    const objA = typeof a === "object" && a !== null;
    const objB = typeof b === "object" && b !== null;
    if (!objA || !objB || Array.isArray(a) !== Array.isArray(b)) {
        return [path];
    }
    const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
    return keys.flatMap((k) => {
        const sub = Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
        return changedPaths((a as any)[k], (b as any)[k], sub);
    });
}

/** True when `path` is `prefix` or lies under it (`a.b[0]` under `a.b` and `a`). */
export function underPath(path: string, prefix: string): boolean {
    return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}

function forcesReplace(resource: PlannedResource, path: string): boolean {
    const table = replaceOnChange[resource.type] ?? [];
    return [...table, ...resource.options.replaceOnChanges].some((p) => p === "*" || underPath(path, p));
}

function deleteNote(r: PlannedResource): string | undefined {
    if (r.options.protect) {
        return "protected: `pulumi up` stops with an error instead of deleting it (see README: keeping the state volume)";
    }
    if (r.options.retainOnDelete) {
        return "retainOnDelete: removed from the stack, the real resource is kept";
    }
    return undefined;
}

/** Secret inputs whose value changed (compared by digest; the values are never kept). */
function changedSecrets(a: PlannedResource, b: PlannedResource): string[] {
    const paths = [...new Set([...Object.keys(a.secretDigests ?? {}), ...Object.keys(b.secretDigests ?? {})])];
    return paths.filter((p) => a.secretDigests?.[p] !== b.secretDigests?.[p]);
}

/**
 * A replaced (or newly created) resource gets new outputs (a new id, new addresses): like
 * `pulumi preview`, count every input that comes from one of them as changed. So does an updated
 * command: the command provider (pulumi-command v1.2.1, built on pulumi-go-provider v1.3.0's
 * `infer`) makes every output of a resource depend on every input unless the resource wires its
 * dependencies itself (infer/resource.go `ensureDefaultComputed`, lines 743-752), and in a preview
 * marks an output unknown when an input it depends on changed (`markComputed`, lines 545-590): an
 * updated command's `stdout` is unknown until `pulumi up` runs it.
 */
function inputsFromNewOutputs(r: PlannedResource, renewed: Set<string>): string[] {
    return Object.entries(r.propertyDependencies)
        .filter(([, urns]) => urns.some((u) => renewed.has(u)))
        .map(([k]) => k);
}

const isCommand = (r: PlannedResource): boolean =>
    r.type === "command:remote:Command" || r.type === "command:local:Command";
const where = (r: PlannedResource): string => (r.type === "command:local:Command" ? "on your machine" : "on the host");

/** A command's delete runs unless it has none, is retained, or goes with a resource deleted too. */
function deleteRuns(r: PlannedResource, deleted: ReadonlySet<string>): boolean {
    return typeof r.inputs.delete === "string" && !r.options.retainOnDelete && !deleted.has(r.options.deletedWith);
}

/** What each changed command runs, from the providers' semantics (see `Change.runs`). */
function withRuns(
    diff: PlanDiff,
    old: ReadonlyMap<string, PlannedResource>,
    next: ReadonlyMap<string, PlannedResource>,
): PlanDiff {
    const deleted = new Set(diff.delete.map((c) => c.urn));
    const runsOf = (c: Change, kind: "create" | "update" | "replace" | "delete"): string[] | undefined => {
        const r = next.get(c.urn) ?? old.get(c.urn);
        if (!r || !isCommand(r)) {
            return undefined;
        }
        const prev = old.get(c.urn) ?? r;
        const create = `create ${where(r)}`;
        switch (kind) {
            case "create":
                return [create];
            case "update":
                return [
                    typeof r.inputs.update === "string"
                        ? `update ${where(r)}`
                        : `create again ${where(r)} (the command has no update)`,
                ];
            case "replace": {
                const del = deleteRuns(prev, deleted) ? [`delete ${where(r)} (the old one)`] : [];
                return c.deleteBeforeReplace ? [...del, create] : [create, ...del];
            }
            case "delete":
                return deleteRuns(r, deleted) ? [`delete ${where(r)}`] : [];
        }
    };
    const annotate = (kind: "create" | "update" | "replace" | "delete") =>
        diff[kind].map((c) => {
            const runs = runsOf(c, kind);
            return runs === undefined ? c : { ...c, runs };
        });
    return {
        create: annotate("create"),
        update: annotate("update"),
        replace: annotate("replace"),
        delete: annotate("delete"),
        unchanged: diff.unchanged,
    };
}

/** The commands a diff runs, on the host and on the operator's machine. */
export function commandsRun(diff: PlanDiff): { urn: string; runs: string[] }[] {
    return [...diff.create, ...diff.update, ...diff.replace, ...diff.delete]
        .filter((c) => c.runs !== undefined && c.runs.length > 0)
        .map((c) => ({ urn: c.urn, runs: c.runs! }));
}

export function diffPlans(old: readonly PlannedResource[], next: readonly PlannedResource[]): PlanDiff {
    const before = new Map(old.map((r) => [r.urn, r]));
    const matched = new Set<PlannedResource>();
    const diff: PlanDiff = { create: [], update: [], replace: [], delete: [], unchanged: [] };
    const renewed = new Set<string>();
    for (const r of next) {
        // Found under its own URN or one of its aliases (a renamed resource): the same resource.
        const prev = [r.urn, ...r.aliases].map((u) => before.get(u)).find((p) => p !== undefined);
        if (!prev) {
            diff.create.push({ urn: r.urn, type: r.type, paths: [] });
            renewed.add(r.urn);
            continue;
        }
        matched.add(prev);
        const changed = new Set([
            ...changedPaths(prev.inputs, r.inputs),
            ...changedSecrets(prev, r),
            ...inputsFromNewOutputs(r, renewed),
        ]);
        const paths = [...changed].sort().filter((p) => !r.options.ignoreChanges.some((ig) => underPath(p, ig)));
        if (paths.length === 0) {
            diff.unchanged.push(r.urn);
            continue;
        }
        const replaceBecause = paths.filter((p) => forcesReplace(r, p));
        if (replaceBecause.length > 0) {
            renewed.add(r.urn);
            diff.replace.push({
                urn: r.urn,
                type: r.type,
                paths,
                replaceBecause,
                deleteBeforeReplace: r.options.deleteBeforeReplace,
            });
        } else {
            if (isCommand(r) || r.type === "command:remote:CopyToRemote") {
                renewed.add(r.urn);
            }
            diff.update.push({ urn: r.urn, type: r.type, paths });
        }
    }
    for (const r of old) {
        if (!matched.has(r)) {
            diff.delete.push({ urn: r.urn, type: r.type, paths: [], note: deleteNote(r) });
        }
    }
    return withRuns(diff, before, new Map(next.map((r) => [r.urn, r])));
}
