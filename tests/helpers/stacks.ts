/**
 * Test helpers: the example stack as an editable object, written to a temporary stack file and
 * planned under the mock runtime exactly as `npm run plan` does.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { parse, stringify } from "yaml";
import { diffPlans, PlanDiff } from "../../tools/plan/diff";
import { PlannedResource } from "../../tools/plan/mockRuntime";
import { Plan, planStack } from "../../tools/plan/run";
import { repoRoot } from "./paths";

export { repoRoot } from "./paths";
export const exampleStackFile = join(repoRoot, "Pulumi.dev.yaml");

export type StackDoc = { config: Record<string, any> };

/** A fresh, mutable copy of Pulumi.dev.yaml. */
export function exampleStack(): StackDoc {
    return parse(readFileSync(exampleStackFile, "utf8"));
}

export function writeStack(doc: StackDoc, name = "test"): string {
    const file = join(mkdtempSync(join(tmpdir(), "microvm-stack-")), `Pulumi.${name}.yaml`);
    writeFileSync(file, stringify(doc));
    return file;
}

export function planDoc(doc: StackDoc, stack = "dev"): Promise<Plan> {
    return planStack(writeStack(doc), stack);
}

let baseline: Promise<Plan> | undefined;

/** The plan of the unedited example, made once per test file (planning takes seconds). */
export function examplePlan(): Promise<Plan> {
    baseline ??= planStack(exampleStackFile, "dev");
    return baseline;
}

/** Plans `edit(example)` against the unedited example. */
export async function planEdit(edit: (doc: StackDoc) => void): Promise<{ before: Plan; after: Plan; diff: PlanDiff }> {
    const before = await examplePlan();
    const doc = exampleStack();
    edit(doc);
    const after = await planDoc(doc);
    return { before, after, diff: diffPlans(before.resources, after.resources) };
}

/** planEdit(edit) for several tests of one file: planned at the first call, then shared. */
export function sharedEdit(edit: (doc: StackDoc) => void): () => ReturnType<typeof planEdit> {
    let planned: ReturnType<typeof planEdit> | undefined;
    return () => (planned ??= planEdit(edit));
}

export function byType(plan: Plan, type: string): PlannedResource[] {
    return plan.resources.filter((r) => r.type === type);
}

export function one(plan: Plan, type: string, name?: string): PlannedResource {
    const found = byType(plan, type).filter((r) => name === undefined || r.name === name);
    if (found.length !== 1) {
        throw new Error(
            `expected one ${type}${name ? ` named ${name}` : ""}, found ${found.map((r) => r.name).join(", ") || "none"}`,
        );
    }
    return found[0];
}
