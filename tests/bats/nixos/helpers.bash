# Shared by tests/bats/nixos and tests/bats/nixos-net (whose helpers load this file): the repository's
# paths, the skip-or-fail helpers and Nix run with the tests' own configuration.
bats_require_minimum_version 1.5.0

REPO_ROOT="$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)"
NIXOS="$REPO_ROOT/nixos"
# shellcheck disable=SC2034 # used by the .bats files
FIXTURES="$REPO_ROOT/tests/fixtures/infra"

load "$REPO_ROOT/tests/bats/lib/require"
load "$REPO_ROOT/tests/bats/lib/nix"

# generate LIB FIXTURE [EDIT]: JSON of nixos/lib/LIB.nix applied to the parsed FIXTURE (a path).
# EDIT (a Nix function infra -> infra) changes the input first, to test bad input without a
# fixture file per mistake.
generate() {
  nix_eval "{ lib, fixture }: import (lib + \"/$1.nix\") ((${3:-infra: infra}) (builtins.fromJSON (builtins.readFile fixture)))" \
    --argstr lib "$NIXOS/lib" --argstr fixture "$2"
}

# eval_infra EXPR FIXTURE: JSON of the Nix expression EXPR, in which `infra` is the parsed FIXTURE
# and `lib` the path of nixos/lib (a string: `import (lib + "/slots.nix") infra`).
eval_infra() {
  nix_eval "{ lib, fixture }: let infra = builtins.fromJSON (builtins.readFile fixture); in $1" \
    --argstr lib "$NIXOS/lib" --argstr fixture "$2"
}
