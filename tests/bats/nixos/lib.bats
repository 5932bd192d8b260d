#!/usr/bin/env bats
# The per-slot generators of nixos/lib (beyond the network ones), evaluated with no nixpkgs on
# infra.json fixtures: what they produce for 5 slots, for slot6 added, for a custom-named slot.
load helpers

setup() {
  require_tool nix-instantiate "Debian package nix-bin"
  require_tool jq
}

@test "slots: one guest per slot of the table, named after the slot, for 5, 6 and custom slots" {
  for fx in five-slots six-slots custom-slot; do
    run nix_eval slots.nix "$FIXTURES/$fx.json"
    [ "$status" -eq 0 ]
    [ "$(jq -c 'keys_unsorted | sort' <<<"$output")" = "$(jq -c '[.slots[].name] | sort' "$FIXTURES/$fx.json")" ]
    [ "$(jq -c '[.[] | .hostName] | sort' <<<"$output")" = "$(jq -c '[.slots[].name] | sort' "$FIXTURES/$fx.json")" ]
  done
}

@test "slots: each guest gets its own slot's tap, MAC, vCPU, memory and disk link" {
  run nix_eval slots.nix "$FIXTURES/custom-slot.json"
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
  run nix_eval slots.nix "$FIXTURES/six-slots.json"
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
  run nix_eval slots.nix "$FIXTURES/custom-slot.json" '.build.network'
  [ "$status" -eq 0 ]
  local slot
  slot=$(jq -c '.slots[] | select(.name == "build")' "$FIXTURES/custom-slot.json")
  [ "$(jq -r '.matchConfig.MACAddress' <<<"$output")" = "$(jq -r .mac <<<"$slot")" ]
  [ "$(jq -r '.address[0]' <<<"$output")" = "$(jq -r '"\(.address)/\(.prefixLength)"' <<<"$slot")" ]
  [ "$(jq -r '.gateway[0]' <<<"$output")" = "$(jq -r .gateway <<<"$slot")" ]
  [ "$(jq '.dns | length' <<<"$output")" -ge 1 ]
}

@test "guest network: infra.guest.nameservers, when present, replaces the default resolvers" {
  run nix_eval_infra '(import (lib + "/slots.nix") (infra // { guest = infra.guest // { nameservers = [ "192.0.2.53" ]; }; })).slot2.network.dns' \
    "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ]
  [ "$output" = '["192.0.2.53"]' ]
}

@test "guest: the operators' keys and admin user come from the deployment data" {
  run nix_eval slots.nix "$FIXTURES/five-slots.json" '.slot1'
  [ "$status" -eq 0 ]
  [ "$(jq -c .sshKeys <<<"$output")" = "$(jq -c .host.sshPublicKeys "$FIXTURES/five-slots.json")" ]
  [ "$(jq -r .adminUser <<<"$output")" = "$(jq -r .host.adminUser "$FIXTURES/five-slots.json")" ]
}

@test "tailscale: advertises exactly the slots' routes, set on every start; tags only at login" {
  for fx in five-slots six-slots custom-slot; do
    run nix_eval tailscale.nix "$FIXTURES/$fx.json"
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
  run nix_eval tailscale.nix "$FIXTURES/six-slots.json"
  [[ "$output" == *"10.6.0.0/24"* ]]
}

@test "tailscale: no tags, no --advertise-tags flag" {
  run nix_eval_infra 'import (lib + "/tailscale.nix") (infra // { tailscale = infra.tailscale // { tags = [ ]; }; })' \
    "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ]
  [ "$(jq '.upFlags == .setFlags' <<<"$output")" = true ]
}

@test "sanoid: one dataset per state that asked for snapshots, with its retention" {
  run nix_eval sanoid.nix "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ]
  [ "$(jq -c 'keys' <<<"$output")" = '["microvms/states/slot1"]' ]
  [ "$(jq -c '.["microvms/states/slot1"] | [.hourly, .daily, .weekly, .monthly, .autosnap, .autoprune]' <<<"$output")" = '[24,7,4,0,true,true]' ]
}

@test "sanoid: nothing with the files backend, nothing when no state asks" {
  run nix_eval_infra 'import (lib + "/sanoid.nix") (infra // { storage = infra.storage // { backend = "files"; device = null; }; })' \
    "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ]
  [ "$output" = '{}' ]
  run nix_eval_infra 'import (lib + "/sanoid.nix") (infra // { storage = infra.storage // { autoSnapshots = [ ]; }; })' \
    "$FIXTURES/five-slots.json"
  [ "$output" = '{}' ]
}

@test "validate: every fixture and nixos/infra.json pass unchanged" {
  for f in "$FIXTURES"/five-slots.json "$FIXTURES"/six-slots.json "$FIXTURES"/custom-slot.json "$NIXOS/infra.json"; do
    run nix_eval validate.nix "$f"
    [ "$status" -eq 0 ]
    [ "$(jq -S -c . <<<"$output")" = "$(jq -S -c . "$f")" ]
  done
}

# validate_error NIX-EXPR-OF-infra EXPECTED-MESSAGE
validate_error() {
  run nix_eval_infra "import (lib + \"/validate.nix\") ($1)" "$FIXTURES/five-slots.json"
  [ "$status" -ne 0 ]
  [[ "$output" == *"error: infra.json: $2"* ]] || { echo "got: $output" >&2; return 1; }
}

@test "validate: bad deployment data is refused with the field and what is valid" {
  validate_error 'infra // { version = 2; }' 'version is 2; this flake reads version 1 only'
  validate_error 'infra // { storage = infra.storage // { backend = "lvm"; }; }' \
    'storage.backend is "lvm"; valid values: "zfs", "files"'
  validate_error 'infra // { storage = infra.storage // { device = null; }; }' \
    'storage.device must be the state volume'
  validate_error 'infra // { host = infra.host // { hostId = "xyz"; }; }' \
    'host.hostId "xyz" must be 8 lower-case hex digits'
  validate_error 'infra // { host = infra.host // { sshPublicKeys = [ ]; }; }' \
    'host.sshPublicKeys must list at least one public key'
  validate_error 'infra // { slots = [ ]; }' 'slots must list at least one slot'
  validate_error 'infra // { slots = infra.slots ++ [ (builtins.head infra.slots) ]; }' \
    'slot names must be unique; repeated: ["slot1","slot1"]'
  validate_error 'infra // { slots = [ ((builtins.head infra.slots) // { name = "Slot 1"; }) ]; }' \
    'slots[0].name "Slot 1" must match [a-z][a-z0-9-]{0,14}'
  validate_error 'infra // { slots = [ ((builtins.head infra.slots) // { memMiB = 0; }) ]; }' \
    'slots[0].memMiB must be a positive integer, got 0'
  validate_error 'infra // { slots = [ ((builtins.head infra.slots) // { mac = "2:0:a:1:0:2"; }) ]; }' \
    'slots[0].mac "2:0:a:1:0:2" must be six lower-case hex pairs'
  validate_error 'builtins.removeAttrs infra [ "guest" ]' 'infra.guest is missing'
}
