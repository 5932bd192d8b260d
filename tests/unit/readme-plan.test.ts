/**
 * The README's description of `npm run plan`'s output is true of the output: every placeholder
 * and marker it quotes appears in the plan of the example stack, and it quotes no form the plan
 * never prints.
 */
import { readFileSync } from "fs";
import { renderPlan } from "../../tools/plan/render";
import { repoPath } from "../helpers/paths";
import { examplePlan } from "../helpers/stacks";

const readme = readFileSync(repoPath("README.md"), "utf8");
const section = /## The offline plan: `npm run plan`\n([\s\S]*?)```sh/.exec(readme)![1];
/** The backticked values the section quotes as what the plan prints. */
const quoted = [...section.matchAll(/`([^`]+)`/g)].map((m) => m[1]).filter((q) => q !== "npm run plan");

describe("README: what the offline plan prints", () => {
    test("the section quotes placeholders and the secret marker", () => {
        expect(quoted).toEqual(expect.arrayContaining(["[secret]", "i-0placeholder000000", "nPlaceholder1CNTRL"]));
    });

    test.each(quoted)("%s appears in the plan of the example stack", async (value) => {
        expect(renderPlan(await examplePlan())).toContain(value);
    });
});
