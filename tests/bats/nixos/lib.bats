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

# A stop or restart of these propagates to the unit that lists them (systemd.unit(5)).
STOP_PROPAGATING='["requires","requisite","bindsTo","partOf","upholds","requiredBy"]'

@test "units (zfs): slots want the states' pool and wait for it, never stop with it" {
  run --separate-stderr generate units "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ]
  jq -e '.["microvm@"] | (.wants | index("microvm-state-pool.service")) and (.after | index("microvm-state-pool.service"))' <<<"$output"
  # No stop-propagating dependency in any unit we set, whether as an option or as a raw [Unit] key.
  jq -e --argjson bad "$STOP_PROPAGATING" '[.[] | keys[], ((.unitConfig // {}) | keys[] | (.[0:1] | ascii_downcase) + .[1:])]
      | map(select(. as $k | $bad | index($k))) == []' <<<"$output"
  # ... and a slot never starts with the states unmounted: it fails instead.
  [ "$(jq -r '.["microvm@"].unitConfig.AssertPathIsMountPoint' <<<"$output")" = /var/lib/microvms/states ]
}

@test "units: each slot is skipped, not failed, until it has a state link; files backend has no pool" {
  run --separate-stderr generate units "$FIXTURES/custom-slot.json" \
    'infra: infra // { storage = infra.storage // { backend = "files"; device = null; }; }'
  [ "$status" -eq 0 ]
  [ "$(jq -c '.["microvm@"]' <<<"$output")" = '{}' ]
  [ "$(jq -r '.["microvm@build"].unitConfig.ConditionPathExists' <<<"$output")" = /var/lib/microvms/build/data.img ]
  [ "$(jq '[keys[] | select(startswith("microvm@") and . != "microvm@")] | length' <<<"$output")" -eq 3 ]
}

@test "units: the storage and slot modules take the slots' dependencies from lib/units.nix only" {
  # The data the test above checks is what the modules set: no module writes its own.
  run ! grep -nE 'requires|requisite|bindsTo|partOf' "$NIXOS/modules/storage.nix" "$NIXOS/modules/slots.nix" "$NIXOS/modules/fleet.nix"
  grep -q '../lib/units.nix infra' "$NIXOS/modules/slots.nix"
}

@test "units (xfs): slots want the state volume's unit and wait for it and for the mount, never stop with it" {
  run --separate-stderr generate units "$FIXTURES/five-slots.json" \
    'infra: infra // { storage = infra.storage // { backend = "xfs"; }; }'
  [ "$status" -eq 0 ]
  [ "$(jq -c '.["microvm@"].wants' <<<"$output")" = '["microvm-state-volume.service"]' ]
  [ "$(jq -c '.["microvm@"].after' <<<"$output")" = '["microvm-state-volume.service","var-lib-microvms-states.mount"]' ]
  [ "$(jq -r '.["microvm@"].unitConfig.AssertPathIsMountPoint' <<<"$output")" = /var/lib/microvms/states ]
  jq -e --argjson bad "$STOP_PROPAGATING" '[.[] | keys[], ((.unitConfig // {}) | keys[] | (.[0:1] | ascii_downcase) + .[1:])]
      | map(select(. as $k | $bad | index($k))) == []' <<<"$output"
}

@test "storage: the states' mount unit is systemd's own name for the states directory" {
  require_tools systemd-escape
  run --separate-stderr generate storage "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ]
  [ "$(jq -r .mountUnit <<<"$output")" = "$(systemd-escape --path --suffix=mount /var/lib/microvms/states)" ]
  [ "$(jq -r .unit <<<"$output")" = microvm-state-pool.service ]
  run --separate-stderr generate storage "$FIXTURES/five-slots.json" 'infra: infra // { storage = { backend = "files"; }; }'
  [ "$(jq -c . <<<"$output")" = '{"dependency":{},"mountUnit":"var-lib-microvms-states.mount","unit":null}' ]
}

@test "sanoid: nothing with the xfs backend (scheduled snapshots are zfs only)" {
  run --separate-stderr generate sanoid "$FIXTURES/five-slots.json" \
    'infra: infra // { storage = infra.storage // { backend = "xfs"; }; }'
  [ "$status" -eq 0 ]
  [ "$output" = '{}' ]
}
