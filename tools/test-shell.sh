#!/usr/bin/env bash
# Runs the bats suites (vm-state, the flake's pure Nix, the network namespaces). Without bats the
# suites are skipped with a message, except under CI=true, where a missing tool is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v bats >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "test-shell: bats is not installed (CI=true: failing; .ci/run installs it with apt-get)" >&2
    exit 1
  fi
  echo "test-shell: SKIPPED every bats suite: bats is not installed (apt-get install bats)" >&2
  exit 0
fi
exec bats --print-output-on-failure -r tests/bats "$@"
