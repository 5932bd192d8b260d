#!/usr/bin/env bash
# check-host-config.sh INFRA_JSON...: runs the host's own checks on rendered deployment data, as the
# host would meet them: nixos/lib/validate.nix (the flake refuses anything it refuses), the
# checks of observability.nix and fleet.nix, then the real nginx -t on the egress proxy configuration nixos/lib/egress.nix generates, and nft -c (in a
# throwaway network namespace) on the ruleset of nixos/lib/nftables.nix. Prints one line per
# failure, naming the file and the check; exit 1 if any failed. Needs nix-instantiate, jq, nginx
# (with the stream module), nft, unshare and root (tests/unit/rendered.test.ts gates on them).
set -euo pipefail
shopt -s inherit_errexit

repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Nix with the tests' own configuration (tests/bats/lib/nix.bash), never the machine's.
export BATS_FILE_TMPDIR=$work
# shellcheck source-path=SCRIPTDIR source=../bats/lib/require.bash
source "$repo/tests/bats/lib/require.bash"
# shellcheck source-path=SCRIPTDIR source=../bats/lib/nix.bash
source "$repo/tests/bats/lib/nix.bash"
# shellcheck source-path=SCRIPTDIR source=../bats/lib/nginx.bash
source "$repo/tests/bats/lib/nginx.bash"
nix_setup

# gen LIB FILE: JSON of nixos/lib/LIB.nix applied to FILE.
gen() {
  nix-instantiate --eval --strict --json --argstr lib "$repo/nixos/lib" --argstr file "$2" \
    --expr "{ lib, file }: import (lib + \"/$1.nix\") (builtins.fromJSON (builtins.readFile file))"
}

failed=0
fail() { printf '%s: %s\n' "$1" "$2"; failed=1; }

for arg in "$@"; do
  file=$(realpath -- "$arg")
  if ! out=$(gen validate "$file" 2>&1 >/dev/null); then
    fail "$file" "validate.nix: $(grep -m1 'infra.json' <<<"$out" || tail -n1 <<<"$out")"
    continue
  fi
  # The host evaluates these too (modules/observability.nix, modules/fleet.nix); each has checks
  # of its own, which validate.nix does not repeat.
  for lib in observability fleet; do
    if ! out=$(gen "$lib" "$file" 2>&1 >/dev/null); then
      fail "$file" "$lib.nix: $(grep -m1 'infra.json' <<<"$out" || tail -n1 <<<"$out")"
    fi
  done
  egress=$(gen egress "$file")
  if [ "$(jq '.ports | length' <<<"$egress")" -gt 0 ]; then
    dir="$work/nginx"
    rm -rf "$dir" && mkdir -p "$dir/tmp"
    jq -r .nginx.stream <<<"$egress" >"$dir/stream.conf"
    jq -r .nginx.http <<<"$egress" >"$dir/http.conf"
    write_nginx_conf "$dir" off
    # -t parses the whole configuration (and resolves nothing: the upstreams are variables).
    if ! out=$(nginx -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" 2>&1); then
      fail "$file" "nginx -t: $(grep -m1 -E 'emerg|error' <<<"$out" || tail -n1 <<<"$out")"
    fi
  fi
  gen nftables "$file" | jq -r . >"$work/ruleset.nft"
  if ! out=$(unshare --net nft -c -f "$work/ruleset.nft" 2>&1); then
    fail "$file" "nft -c: $(head -n3 <<<"$out" | tr '\n' ' ')"
  fi
done
exit "$failed"
