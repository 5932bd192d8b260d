#!/usr/bin/env bats
# The per-slot generators of nixos/lib (beyond the network ones), evaluated with no nixpkgs on
# infra.json fixtures: what they produce for 5 slots, for slot6 added, for a custom-named slot.
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
}

@test "slots: one guest per slot of the table, named after the slot, for 5, 6 and custom slots" {
  for fx in five-slots six-slots custom-slot; do
    run --separate-stderr generate slots "$FIXTURES/$fx.json"
    [ "$status" -eq 0 ]
    [ "$(jq -c 'keys_unsorted | sort' <<<"$output")" = "$(jq -c '[.slots[].name] | sort' "$FIXTURES/$fx.json")" ]
    [ "$(jq -c '[.[] | .hostName] | sort' <<<"$output")" = "$(jq -c '[.slots[].name] | sort' "$FIXTURES/$fx.json")" ]
  done
}

@test "slots: each guest gets its own slot's tap, MAC, vCPU, memory and disk link" {
  run --separate-stderr generate slots "$FIXTURES/custom-slot.json"
  [ "$status" -eq 0 ]
  local want got
  want=$(jq -c '[.slots[] | {name, tap, mac, vcpu, memMiB, disk: (.diskGiB * 1024)}] | sort_by(.name)' "$FIXTURES/custom-slot.json")
  got=$(jq -c 'to_entries | map({name: .key, tap: .value.microvm.interfaces[0].id,
      mac: .value.microvm.interfaces[0].mac, vcpu: .value.microvm.vcpu, memMiB: .value.microvm.mem,
      disk: .value.microvm.volumes[0].size}) | sort_by(.name)' <<<"$output")
  [ "$got" = "$want" ]
  [ "$(jq -r '.build.microvm.volumes[0].image' <<<"$output")" = /var/lib/microvms/build/data.img ]
  [ "$(jq -r '.build.microvm.interfaces[0].type' <<<"$output")" = tap ]
}

@test "slots: the state image is never auto-created and is the root filesystem, found by label" {
  run --separate-stderr generate slots "$FIXTURES/six-slots.json"
  [ "$status" -eq 0 ]
  [ "$(jq '[.[] | .microvm.volumes[] | .autoCreate] | unique' -c <<<"$output")" = '[false]' ]
  local label
  label=$(jq -r .guest.dataLabel "$FIXTURES/six-slots.json")
  [ "$(jq -r '[.[] | .rootFileSystem.device] | unique | .[]' <<<"$output")" = "/dev/disk/by-label/$label" ]
  [ "$(jq -r '.slot6.microvm.writableStoreOverlay' <<<"$output")" = /nix/.rw-store ]
  [ "$(jq -r '.slot6.microvm.storeDiskType' <<<"$output")" = erofs ]
  [ "$(jq -r '.slot6.microvm.hypervisor' <<<"$output")" = cloud-hypervisor ]
}

@test "guest network: the slot's address, prefix and gateway on the NIC with the slot's MAC" {
  run --separate-stderr generate slots "$FIXTURES/custom-slot.json"
  [ "$status" -eq 0 ]
  local slot network
  network=$(jq -c .build.network <<<"$output")
  slot=$(jq -c '.slots[] | select(.name == "build")' "$FIXTURES/custom-slot.json")
  [ "$(jq -r '.matchConfig.MACAddress' <<<"$network")" = "$(jq -r .mac <<<"$slot")" ]
  [ "$(jq -r '.address[0]' <<<"$network")" = "$(jq -r '"\(.address)/\(.prefixLength)"' <<<"$slot")" ]
  [ "$(jq -r '.gateway[0]' <<<"$network")" = "$(jq -r .gateway <<<"$slot")" ]
  [ "$(jq '.dns | length' <<<"$network")" -ge 1 ]
}

@test "guest network: infra.guest.nameservers, when present, replaces the default resolvers" {
  run --separate-stderr generate slots "$FIXTURES/five-slots.json" \
    'infra: infra // { guest = infra.guest // { nameservers = [ "192.0.2.53" ]; }; }'
  [ "$status" -eq 0 ]
  [ "$(jq -c .slot2.network.dns <<<"$output")" = '["192.0.2.53"]' ]
}

@test "guest: the operators' keys and admin user come from the deployment data" {
  run --separate-stderr generate slots "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ]
  [ "$(jq -c .slot1.sshKeys <<<"$output")" = "$(jq -c .host.sshPublicKeys "$FIXTURES/five-slots.json")" ]
  [ "$(jq -r .slot1.adminUser <<<"$output")" = "$(jq -r .host.adminUser "$FIXTURES/five-slots.json")" ]
}

@test "tailscale: advertises exactly the slots' routes, set on every start; tags only at login" {
  for fx in five-slots six-slots custom-slot; do
    run --separate-stderr generate tailscale "$FIXTURES/$fx.json"
    [ "$status" -eq 0 ]
    local routes
    routes=$(jq -r '.tailscale.advertiseRoutes | join(",")' "$FIXTURES/$fx.json")
    [ "$(jq -r '.setFlags[] | select(startswith("--advertise-routes="))' <<<"$output")" = "--advertise-routes=$routes" ]
    [ "$(jq -r '.setFlags[] | select(startswith("--hostname="))' <<<"$output")" = "--hostname=microvm-host" ]
    [ "$(jq '[.setFlags[] | select(startswith("--advertise-tags"))] | length' <<<"$output")" -eq 0 ]
    [ "$(jq -r '.upFlags[] | select(startswith("--advertise-tags="))' <<<"$output")" = "--advertise-tags=tag:microvm-host" ]
    # `tailscale up` must repeat every flag that `tailscale set` applies.
    [ "$(jq '(.setFlags - .upFlags) | length' <<<"$output")" -eq 0 ]
  done
  run --separate-stderr generate tailscale "$FIXTURES/six-slots.json"
  [[ "$output" == *"10.6.0.0/24"* ]]
}

@test "tailscale: no tags, no --advertise-tags flag" {
  run --separate-stderr generate tailscale "$FIXTURES/five-slots.json" 'infra: infra // { tailscale = infra.tailscale // { tags = [ ]; }; }'
  [ "$status" -eq 0 ]
  [ "$(jq '.upFlags == .setFlags' <<<"$output")" = true ]
}

@test "sanoid: one dataset per state that asked for snapshots, with its retention" {
  run --separate-stderr generate sanoid "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ]
  [ "$(jq -c 'keys' <<<"$output")" = '["microvms/states/slot1"]' ]
  [ "$(jq -c '.["microvms/states/slot1"] | [.hourly, .daily, .weekly, .monthly, .autosnap, .autoprune]' <<<"$output")" = '[24,7,4,0,true,true]' ]
}

@test "sanoid: nothing with the files backend, nothing when no state asks" {
  run --separate-stderr generate sanoid "$FIXTURES/five-slots.json" \
    'infra: infra // { storage = infra.storage // { backend = "files"; device = null; }; }'
  [ "$status" -eq 0 ]
  [ "$output" = '{}' ]
  run --separate-stderr generate sanoid "$FIXTURES/five-slots.json" 'infra: infra // { storage = infra.storage // { autoSnapshots = [ ]; }; }'
  [ "$output" = '{}' ]
}
