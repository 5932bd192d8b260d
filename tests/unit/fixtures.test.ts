import { renderFixtures } from "../../tools/render-fixtures";

test("nixos/infra.json, the Nix test fixtures and the URN lists are what the program renders from their stack configs (npm run render-fixtures)", async () => {
    const fix =
        "after a deliberate edit of Pulumi.dev.yaml or tests/fixtures/stacks (e.g. adding slot6), run `npm run render-fixtures` and commit what it rewrites";
    expect({ stale: await renderFixtures(true), fix }).toEqual({ stale: [], fix });
});
