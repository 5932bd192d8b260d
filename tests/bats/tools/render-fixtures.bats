#!/usr/bin/env bats
# docs/operations.md's "Add a slot" on the example stack, in a copy of the repository: the edit
# makes nixos/infra.json and the URN list stale, and the one command the docs and the tests'
# messages give (`npm run render-fixtures`) makes the fixture and URN tests pass again.
load ../lib/require

setup_file() {
  require_tools git node npm
  REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
  COPY=$BATS_FILE_TMPDIR/repo
  mkdir -p "$COPY"
  git -C "$REPO" ls-files -z | (cd "$REPO" && xargs -0 tar -cf - --) | tar -xf - -C "$COPY"
  ln -s "$REPO/node_modules" "$COPY/node_modules"
  # `pulumi config set --path 'microvm-infra:slots.slot6.memMiB' 2048`, as the stack file shows it.
  (cd "$COPY" && node -e '
    const fs = require("fs"); const YAML = require("yaml");
    const doc = YAML.parseDocument(fs.readFileSync("Pulumi.dev.yaml", "utf8"));
    doc.setIn(["config", "microvm-infra:slots", "slot6"], doc.createNode({ memMiB: 2048 }));
    fs.writeFileSync("Pulumi.dev.yaml", doc.toString());')
  export REPO COPY
}

@test "after adding slot6 to the example, exactly nixos/infra.json and its URN list are stale" {
  cd "$COPY"
  run npx --no-install tsx tools/render-fixtures.ts --check
  [ "$status" -eq 1 ]
  [ "$output" = "$(printf 'stale: %s\nstale: %s' "$COPY/nixos/infra.json" "$COPY/tests/fixtures/urns/Pulumi.dev.txt")" ]
}

@test "npm run render-fixtures refreshes them: the fixture and URN tests pass, and the URN list has slot6's state" {
  cd "$COPY"
  run npm run --silent render-fixtures
  [ "$status" -eq 0 ]
  grep -q 'microvm-infra:state:VmState::slot6$' tests/fixtures/urns/Pulumi.dev.txt
  grep -q '"name": "slot6"' nixos/infra.json
  run npx --no-install tsx tools/render-fixtures.ts --check
  [ "$status" -eq 0 ]
  run npx --no-install jest --rootDir "$COPY" tests/unit/fixtures.test.ts tests/unit/urns.test.ts
  [ "$status" -eq 0 ]
}
