#!/usr/bin/env bash
# `npm test`: every stage runs, even after one fails, so a failure never hides the others'
# results; the summary lists each stage and the exit status is non-zero if any failed.
#   stages: Node version, the vm-state build, type check, Jest (unit, plan, real SSH), bats
#   (vm-state, Nix, network)
# Extra arguments go to bats (e.g. `npm test -- --filter apply`). MICROVM_TEST_SHELL replaces the
# bats stage's script (the runner's own test uses it).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

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

stage "node version" node tools/check-node.js
stage "vm-state build" npx --no-install tsx vm-state/build.ts
stage "type check" npx --no-install tsc --noEmit
stage "jest" npx --no-install jest
# The vm-state suites run against the TypeScript build (tests/bats/vm-state/helpers.bash); the
# bash scripts/vm-state is what the host runs until the switch-over (issue 19, phase 2).
export VM_STATE_BIN=${VM_STATE_BIN:-$PWD/vm-state/dist/vm-state.js}
stage "bats" bash "${MICROVM_TEST_SHELL:-tools/test-shell.sh}" "$@"

printf '\n=== summary\n'
printf '  %s\n' "${results[@]}"
exit "$failed"
