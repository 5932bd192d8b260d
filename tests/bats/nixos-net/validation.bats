#!/usr/bin/env bats
# Bad deployment data: both generators stop with an error naming the field and what is valid,
# instead of writing a broken (or injected) ruleset or unit.

load helpers

setup() {
  needs nix-instantiate jq
}

# rejects EDIT MESSAGE: both generators fail on five-slots.json edited by EDIT (infra -> infra)
# with exactly MESSAGE.
rejects() {
  local generator
  for generator in nftables networkd; do
    run generate "$generator" "$FIXTURES/five-slots.json" "$1"
    [ "$status" -ne 0 ] || {
      echo "$generator accepted it" >&2
      return 1
    }
    grep -qxF "error: $2" <<<"$output" || {
      echo "$generator said: $output" >&2
      return 1
    }
  done
}

# slot0 EDIT: an edit of the first slot, as a Nix function infra -> infra.
slot0() {
  echo "infra: infra // { slots = [ ((builtins.head infra.slots) // $1) ] ++ builtins.tail infra.slots; }"
}

@test "another format version is refused" {
  rejects 'infra: infra // { version = 2; }' \
    'infra.json: version: 2 is not supported; expected 1'
}

@test "a missing slot table is refused" {
  rejects 'infra: removeAttrs infra [ "slots" ]' \
    'infra.json: slots: expected a list of slots, got null'
}

@test "a bridge name that would inject nft syntax is refused" {
  rejects "$(slot0 '{ bridge = "br\" accept #"; }')" \
    'infra.json: slots[0].bridge: "br\" accept #" is not valid; expected an interface name of 1 to 15 characters from A-Z a-z 0-9 . _ - (not tailscale0 or lo)'
}

@test "a tap named tailscale0 is refused" {
  rejects "$(slot0 '{ tap = "tailscale0"; }')" \
    'infra.json: slots[0].tap: "tailscale0" is not valid; expected an interface name of 1 to 15 characters from A-Z a-z 0-9 . _ - (not tailscale0 or lo)'
}

@test "a missing gateway is refused" {
  rejects "$(slot0 '{ gateway = null; }')" \
    'infra.json: slots[0].gateway: null is not valid; expected an IPv4 address such as "10.1.0.1"'
  rejects 'infra: infra // { slots = [ (removeAttrs (builtins.head infra.slots) [ "gateway" ]) ]; }' \
    'infra.json: slots[0].gateway: missing; expected an IPv4 address such as "10.1.0.1"'
}

@test "an address out of range is refused" {
  rejects "$(slot0 '{ address = "10.1.0.256"; }')" \
    'infra.json: slots[0].address: "10.1.0.256" is not valid; expected an IPv4 address such as "10.1.0.2"'
}

@test "a prefix length that disagrees with the subnet is refused" {
  rejects "$(slot0 '{ prefixLength = 16; }')" \
    'infra.json: slots[0].prefixLength: 16 does not match subnet 10.1.0.0/24'
}

@test "two slots with the same index are refused" {
  rejects "$(slot0 '{ index = 2; }')" \
    'infra.json: slots[].index: 2 is used by more than one slot; each slot needs its own'
}

@test "two slots with the same bridge are refused" {
  rejects "$(slot0 '{ bridge = "br-slot2"; }')" \
    'infra.json: slots[].bridge: "br-slot2" is used by more than one slot; each slot needs its own'
}

@test "a bridge named like another slot's tap is refused" {
  rejects "$(slot0 '{ bridge = "vm-slot2"; }')" \
    'infra.json: slots[]: interface "vm-slot2" is both a bridge and a tap; they must differ'
}
