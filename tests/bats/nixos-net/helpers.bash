# Shared by tests/bats/nixos-net: evaluate the pure Nix generators on infra.json fixtures.

REPO_ROOT="$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)"
# shellcheck disable=SC2034 # used by the .bats files
FIXTURES="$REPO_ROOT/tests/fixtures/infra"
NIX_LIB="$REPO_ROOT/nixos/lib"

# needs TOOL...: skip when a tool is missing, but fail under CI=true (CI must install everything).
needs() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ "${CI:-}" == true ]]; then
    echo "CI=true but ${missing[*]} not installed" >&2
    return 1
  fi
  skip "needs ${missing[*]}"
}

# needs_root: the network tests create namespaces, so they need root (skip locally, fail in CI).
needs_root() {
  ((EUID == 0)) && return 0
  if [[ "${CI:-}" == true ]]; then
    echo "CI=true but not running as root" >&2
    return 1
  fi
  skip "needs root (network namespaces)"
}

# generate GENERATOR FIXTURE [NIX_FUNCTION]: the value of nixos/lib/GENERATOR.nix applied to the
# parsed FIXTURE (a path), as JSON. NIX_FUNCTION (infra -> infra) edits the input first, to test
# bad input without a fixture file per mistake.
generate() {
  nix-instantiate --eval --strict --json \
    --argstr generator "$NIX_LIB/$1.nix" --argstr infraFile "$2" \
    --expr "{ generator, infraFile }: import generator ((${3:-infra: infra}) (builtins.fromJSON (builtins.readFile infraFile)))"
}

# ruleset FIXTURE: the nftables ruleset text generated for FIXTURE.
ruleset() {
  generate nftables "$1" | jq -r .
}

# slot_field FIXTURE FIELD: one line per slot with that field's value, in slot order.
slot_field() {
  jq -r --arg f "$2" '.slots[][$f]' "$1"
}
