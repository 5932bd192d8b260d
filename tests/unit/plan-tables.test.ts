/**
 * The offline plan's tables (lib/constraints' replace-on-change, mockOutputs.ts) cover exactly what the
 * program declares and looks up: a type missing would be misclassified by --against, an entry for
 * a type never declared is dead weight that nobody keeps true.
 */
import { functionResults, resourceIds, resourceOutputs } from "../../tools/plan/mockOutputs";
import { replaceOnChange } from "../../lib/constraints";
import { Plan } from "../../tools/plan/run";
import { examplePlan, exampleStack, planDoc } from "../helpers/stacks";

describe("the plan's provider tables", () => {
    let plans: Plan[];
    beforeAll(async () => {
        const managed = exampleStack();
        managed.config["microvm-infra:tailscale"].managePolicy = true;
        const pinned = exampleStack();
        pinned.config["microvm-infra:host"].ami = "ami-0123456789abcdef0";
        const backups = exampleStack();
        backups.config["microvm-infra:storage"].backups = { everyHours: 24, keep: 7 };
        plans = [await examplePlan(), await planDoc(managed), await planDoc(pinned), await planDoc(backups)];
    }, 120000);

    const declared = () => new Set(plans.flatMap((p) => p.resources.filter((r) => r.custom).map((r) => r.type)));
    const looked = () => new Set(plans.flatMap((p) => p.lookups));

    test("replace-on-change knows every declared type, and only those", () => {
        expect(Object.keys(replaceOnChange).sort()).toEqual([...declared()].sort());
    });

    test("every mock answer is for a type the program declares or a function it calls", () => {
        for (const type of [...Object.keys(resourceOutputs), ...Object.keys(resourceIds)]) {
            expect({ type, declared: declared().has(type) }).toEqual({ type, declared: true });
        }
        expect(Object.keys(functionResults).sort()).toEqual([...looked()].sort());
    });
});
