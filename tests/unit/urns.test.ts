/**
 * Existing stacks keep their resources: every stack file in the repository plans to exactly the URNs
 * recorded in tests/fixtures/urns (a renamed resource needs an alias, and the fleet support must
 * leave a one-host stack untouched). A deliberate new resource updates the list in the same change.
 */
import { readdirSync, readFileSync } from "fs";
import { basename } from "path";
import { planStack } from "../../tools/plan/run";
import { repoPath } from "../helpers/paths";

const stacks = ["Pulumi.dev.yaml", ...readdirSync(repoPath("tests/fixtures/stacks")).filter((f) => f.endsWith(".yaml")).map((f) => `tests/fixtures/stacks/${f}`)];

test.each(stacks)("%s plans to the recorded URNs", async (file) => {
    const recorded = readFileSync(repoPath("tests/fixtures/urns", `${basename(file, ".yaml")}.txt`), "utf8").trim().split("\n");
    const plan = await planStack(repoPath(file), "dev");
    const fix = "a deliberate new or removed resource (e.g. adding slot6): run `npm run render-fixtures` and commit tests/fixtures/urns; a renamed one: add an alias instead";
    expect({ urns: plan.resources.map((r) => r.urn).sort(), fix }).toEqual({ urns: recorded, fix });
});
