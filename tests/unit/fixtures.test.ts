import { renderFixtures } from "../../tools/render-fixtures";

test("nixos/infra.json and the Nix test fixtures are what the program renders from their stack configs (npm run render-fixtures)", async () => {
    expect(await renderFixtures(true)).toEqual([]);
});
