#!/usr/bin/env bats
# nixos/lib/networkd.nix: the per-slot systemd-networkd units generated from infra.json fixtures.

# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
}

# assert_units FIXTURE: exactly one bridge netdev, one bridge network (gateway address) and one tap
# network (attached to the bridge) per slot of FIXTURE, with the fixture's values, and nothing else.
assert_units() {
  local fixture=$1 units
  units=$(generate networkd "$fixture") || return
  jq -e -n --argjson units "$units" --slurpfile infra "$fixture" '
    $infra[0].slots as $slots
    | ($units.netdevs | keys | sort) == ($slots | map("20-" + .bridge) | sort)
      and ($units.networks | keys | sort)
        == ($slots | map("20-" + .bridge, "21-" + .tap) | sort)
      and all($slots[];
        . as $s
        | $units.netdevs["20-" + $s.bridge].netdevConfig == { Kind: "bridge", Name: $s.bridge }
          and $units.networks["20-" + $s.bridge].matchConfig.Name == $s.bridge
          and $units.networks["20-" + $s.bridge].address == ["\($s.gateway)/\($s.prefixLength)"]
          and $units.networks["21-" + $s.tap].matchConfig.Name == $s.tap
          and $units.networks["21-" + $s.tap].networkConfig.Bridge == $s.bridge)
  ' >/dev/null
}

@test "five slots: a bridge with the gateway address and a tap rule per slot, nothing else" {
  assert_units "$FIXTURES/five-slots.json"
  run --separate-stderr generate networkd "$FIXTURES/five-slots.json"
  [ "$(jq '.netdevs | length' <<<"$output")" -eq 5 ]
  [ "$(jq '.networks | length' <<<"$output")" -eq 10 ]
  [ "$(jq '[.. | strings | select(test("slot6"))] | length' <<<"$output")" -eq 0 ]
}

@test "six slots: slot6 gets its bridge, address and tap rule" {
  assert_units "$FIXTURES/six-slots.json"
  run --separate-stderr generate networkd "$FIXTURES/six-slots.json"
  [ "$(jq -c '.networks["20-br-slot6"].address' <<<"$output")" = '["10.6.0.1/24"]' ]
  [ "$(jq -r '.networks["21-vm-slot6"].networkConfig.Bridge' <<<"$output")" = br-slot6 ]
}

@test "custom slot: 'build' with index 42 uses its own bridge, tap and gateway" {
  assert_units "$FIXTURES/custom-slot.json"
  run --separate-stderr generate networkd "$FIXTURES/custom-slot.json"
  [ "$(jq -c '.netdevs["20-br-build"].netdevConfig' <<<"$output")" = '{"Kind":"bridge","Name":"br-build"}' ]
  [ "$(jq -c '.networks["20-br-build"].address' <<<"$output")" = '["10.42.0.1/24"]' ]
  [ "$(jq -r '.networks["21-vm-build"].matchConfig.Name' <<<"$output")" = vm-build ]
  [ "$(jq -r '.networks["21-vm-build"].networkConfig.Bridge' <<<"$output")" = br-build ]
}

@test "a bridge keeps its gateway address while its VM is down, and no slot link delays boot" {
  run --separate-stderr generate networkd "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ]
  jq -e '[.networks[] | select(.address) | .networkConfig.ConfigureWithoutCarrier] | all' <<<"$output"
  jq -e '[.networks[] | .linkConfig.RequiredForOnline == "no"] | all' <<<"$output"
}

@test "the addresses are the deployment data's, not recomputed from the index" {
  # A slot whose gateway is not <subnet>.1 keeps the gateway it was given.
  run --separate-stderr generate networkd "$FIXTURES/custom-slot.json" \
    'infra: infra // { slots = map (s: if s.name == "build" then s // { gateway = "10.42.0.254"; } else s) infra.slots; }'
  [ "$status" -eq 0 ]
  [ "$(jq -c '.networks["20-br-build"].address' <<<"$output")" = '["10.42.0.254/24"]' ]
}
