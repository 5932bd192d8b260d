/**
 * What applying one plan to a stack deployed from another would do, resource by resource, like
 * `git diff OLD`: create, update (with the changed input paths), replace, delete, unchanged.
 */
import { PlannedResource } from "./mockRuntime";
import { replaceOnChange } from "./replaceOnChange";

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

/**
 * A replaced (or newly created) resource gets new outputs (a new id, new addresses): like
 * `pulumi preview`, count every input that comes from one of them as changed.
 */
function inputsFromNewOutputs(r: PlannedResource, renewed: Set<string>): string[] {
    return Object.entries(r.propertyDependencies).filter(([, urns]) => urns.some((u) => renewed.has(u))).map(([k]) => k);
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
        const changed = new Set([...changedPaths(prev.inputs, r.inputs), ...inputsFromNewOutputs(r, renewed)]);
        const paths = [...changed].sort().filter((p) => !r.options.ignoreChanges.some((ig) => underPath(p, ig)));
        if (paths.length === 0) {
            diff.unchanged.push(r.urn);
            continue;
        }
        const replaceBecause = paths.filter((p) => forcesReplace(r, p));
        if (replaceBecause.length > 0) {
            renewed.add(r.urn);
            diff.replace.push({ urn: r.urn, type: r.type, paths, replaceBecause, deleteBeforeReplace: r.options.deleteBeforeReplace });
        } else {
            diff.update.push({ urn: r.urn, type: r.type, paths });
        }
    }
    for (const r of old) {
        if (!matched.has(r)) {
            diff.delete.push({ urn: r.urn, type: r.type, paths: [], note: deleteNote(r) });
        }
    }
    return diff;
}
