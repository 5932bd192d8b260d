# Shared by tests/bats/nixos/*.bats.
REPO="$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)"
NIXOS="$REPO/nixos"
FIXTURES="$REPO/tests/fixtures/infra"

# A tool the test needs: skipped with a message locally, a failure when CI=true.
require_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "${CI:-}" = true ]; then
    echo "$1 is required in CI but is not installed (${2:-see .ci/run})" >&2
    return 1
  fi
  skip "$1 is not installed (${2:-})"
}

# nix_eval FILE-IN-nixos/lib FIXTURE-PATH [NIX-SUFFIX]: JSON of `import lib/FILE infra` + suffix.
nix_eval() {
  local lib=$1 fixture=$2 suffix=${3:-}
  nix-instantiate --eval --strict --json -E \
    "(import $NIXOS/lib/$lib (builtins.fromJSON (builtins.readFile $fixture)))$suffix"
}

# nix_eval_infra NIX-EXPR-OF-infra FIXTURE: JSON of the expression with `infra` bound to the fixture.
nix_eval_infra() {
  nix-instantiate --eval --strict --json -E \
    "let infra = builtins.fromJSON (builtins.readFile $2); lib = $NIXOS/lib; in $1"
}
