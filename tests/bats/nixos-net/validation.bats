#!/usr/bin/env bats
# Bad deployment data: both network generators stop, naming the field (they take their slots from
# nixos/lib/validate.nix, tested in tests/bats/nixos/validate.bats), instead of writing a broken or
# injected ruleset or unit.

# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
}

# rejects EDIT FIELD: both generators fail on five-slots.json edited by EDIT (infra -> infra) and
# name FIELD on stderr.
rejects() {
  local generator
  for generator in nftables networkd; do
    run --separate-stderr generate "$generator" "$FIXTURES/five-slots.json" "$1"
    [ "$status" -ne 0 ] || { echo "$generator accepted it" >&2; return 1; }
    grep -qF "infra.json: $2: " <<<"$stderr" || { echo "$generator said: $stderr" >&2; return 1; }
  done
}

# slot0 EDIT: an edit of the first slot, as a Nix function infra -> infra.
slot0() {
  echo "infra: infra // { slots = [ ((builtins.head infra.slots) // $1) ] ++ builtins.tail infra.slots; }"
}

@test "another format version is refused" {
  rejects 'infra: infra // { version = 2; }' version
}

@test "a missing slot table is refused" {
  rejects 'infra: removeAttrs infra [ "slots" ]' slots
}

@test "a bridge name that would inject nft syntax is refused" {
  rejects "$(slot0 '{ bridge = "br\" accept #"; }')" 'slots[0].bridge'
}

@test "a tap named tailscale0 is refused" {
  rejects "$(slot0 '{ tap = "tailscale0"; }')" 'slots[0].tap'
}

@test "a missing gateway is refused" {
  rejects "$(slot0 '{ gateway = null; }')" 'slots[0].gateway'
  rejects 'infra: infra // { slots = [ (removeAttrs (builtins.head infra.slots) [ "gateway" ]) ]; }' 'slots[0].gateway'
}

@test "an address out of range is refused" {
  rejects "$(slot0 '{ address = "10.1.0.256"; }')" 'slots[0].address'
}

@test "a prefix length that disagrees with the subnet is refused" {
  rejects "$(slot0 '{ prefixLength = 16; }')" 'slots[0].prefixLength'
}

@test "two slots with the same index, bridge, or a bridge named like a tap are refused" {
  rejects "$(slot0 '{ index = 2; }')" 'slots[].index'
  rejects "$(slot0 '{ bridge = "br-slot2"; }')" 'slots[].bridge'
  rejects "$(slot0 '{ bridge = "vm-slot2"; }')" 'slots[].bridge'
}
