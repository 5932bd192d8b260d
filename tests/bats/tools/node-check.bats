#!/usr/bin/env bats
# A wrong Node.js sees the project's own advice (tools/check-node.js) from the README's first
# command, and `npm test` ends at once. The wrong Node is this machine's Node 22 reporting another
# version (process.version and process.versions, which npm's engine check and check-node.js read),
# so the test runs the same wherever it runs; npm is the real one on PATH.
load ../lib/require

setup() {
  require_tools node npm
  REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
  # The project's npm-facing files, copied: a command that went wrong must not touch the real node_modules.
  PROJECT=$BATS_TEST_TMPDIR/project
  mkdir -p "$PROJECT/tools"
  cp "$REPO/package.json" "$REPO/package-lock.json" "$REPO/.npmrc" "$REPO/.nvmrc" "$PROJECT/"
  cp "$REPO/tools/check-node.js" "$REPO/tools/test.sh" "$PROJECT/tools/"
  mkdir -p "$PROJECT/node_modules/keep"
  cat >"$BATS_TEST_TMPDIR/node20.js" <<'JS'
Object.defineProperty(process, "version", { value: "v20.19.0" });
Object.defineProperty(process, "versions", { value: { ...process.versions, node: "20.19.0" } });
JS
  # npx stands in for tsc and jest, and a fake bats stage: each records that it ran.
  FAKEBIN=$BATS_TEST_TMPDIR/bin
  mkdir -p "$FAKEBIN"
  printf '#!/bin/sh\necho "ran: npx $*" >>"%s"\n' "$BATS_TEST_TMPDIR/calls" >"$FAKEBIN/npx"
  printf '#!/bin/sh\necho "ran: bats $*" >>"%s"\n' "$BATS_TEST_TMPDIR/calls" >"$FAKEBIN/fake-shell"
  chmod +x "$FAKEBIN/npx" "$FAKEBIN/fake-shell"
}

on_node20() { NODE_OPTIONS="--require $BATS_TEST_TMPDIR/node20.js" "$@"; }

@test "the stand-in is a Node 20 to npm and to the check" {
  run on_node20 node -e 'process.stdout.write(process.version)'
  [ "$output" = v20.19.0 ]
}

@test "npm run setup (the README's first command) on Node 20: the project's advice first, and npm ci never starts" {
  cd "$PROJECT"
  run on_node20 npm run --silent setup
  [ "$status" -eq 1 ]
  [[ ${lines[0]} == "microvm-infra needs Node.js 22 LTS; this is Node.js 20.19.0 ("* ]]
  [[ $output == *"nvm install 22 && nvm use 22"* ]]
  [[ $output == *"npm install --prefix /opt/node22 node@22"* ]]
  [[ $output != *EBADENGINE* ]]
  [ -d node_modules/keep ] # npm ci would have emptied node_modules
}

@test "a bare npm ci on Node 20 stops at npm's engine check, before the preinstall script: why the README starts with npm run setup" {
  cd "$PROJECT"
  run on_node20 npm ci --no-audit --no-fund --offline
  [ "$status" -ne 0 ]
  [[ $output == *"EBADENGINE"* ]]
  [[ $output != *"microvm-infra needs Node.js 22"* ]]
  [ -d node_modules/keep ]
}

@test "npm test on Node 20 ends at once with the project's advice: no stage runs" {
  cd "$PROJECT"
  PATH=$FAKEBIN:$PATH MICROVM_TEST_SHELL=$FAKEBIN/fake-shell run on_node20 npm test --silent
  [ "$status" -eq 1 ]
  [[ ${lines[0]} == "microvm-infra needs Node.js 22 LTS; this is Node.js 20.19.0 ("* ]]
  [ "${lines[-1]}" = "npm test: stopped before running anything (the Node check above failed)." ]
  [[ $output != *"=== "* ]]
  [ ! -e "$BATS_TEST_TMPDIR/calls" ]
}

@test "npm test on Node 22 without node_modules ends at once, saying to run npm run setup" {
  cd "$PROJECT"
  rm -rf node_modules
  PATH=$FAKEBIN:$PATH MICROVM_TEST_SHELL=$FAKEBIN/fake-shell run bash tools/test.sh
  [ "$status" -eq 1 ]
  [ "$output" = 'npm test: node_modules is missing or incomplete: run `npm run setup` (or `npm ci`) first.' ]
  [ ! -e "$BATS_TEST_TMPDIR/calls" ]
}
