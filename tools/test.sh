#!/usr/bin/env bash
# `npm test`: every stage runs, even after one fails, so a failure never hides the others'
# results; the summary lists each stage and the exit status is non-zero if any failed.
#   stages: bats lint, the vm-state build, type check, ESLint, Prettier's check, Jest (unit, plan,
#   real SSH), bats (vm-state, Nix, network)
# Two things end the run at once instead, before any stage, because every stage would fail
# slowly and hide why: a Node.js other than 22 (tools/check-node.js says how to get it) and no
# node_modules (`npm ci` was not run).
# Extra arguments go to bats (e.g. `npm test -- --filter apply`). MICROVM_TEST_SHELL replaces the
# bats stage's script (the runner's own test uses it).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

if ! node tools/check-node.js; then
  echo "npm test: stopped before running anything (the Node check above failed)." >&2
  exit 1
fi
if [[ ! -e node_modules/.package-lock.json ]]; then
  echo "npm test: node_modules is missing or incomplete: run \`npm run setup\` (or \`npm ci\`) first." >&2
  exit 1
fi

results=()
failed=0
stage() { # NAME COMMAND...
  local name=$1 rc
  shift
  printf '\n=== %s: %s\n' "$name" "$*"
  "$@"
  rc=$?
  if ((rc == 0)); then
    results+=("ok      $name")
  else
    results+=("FAILED  $name (exit $rc)")
    failed=1
  fi
}

stage "bats lint" bash tools/lint-bats.sh
stage "vm-state build" npx --no-install tsx vm-state/build.ts
stage "type check" npx --no-install tsc --noEmit
stage "eslint" npx --no-install eslint .
stage "format" npx --no-install prettier --check .
stage "jest" npx --no-install jest
# The vm-state suites run scripts/vm-state, the launcher of the build above (VM_STATE_BIN, if
# set, points them at another vm-state: tests/bats/vm-state/helpers.bash).
stage "bats" bash "${MICROVM_TEST_SHELL:-tools/test-shell.sh}" "$@"

printf '\n=== summary\n'
printf '  %s\n' "${results[@]}"
exit "$failed"
