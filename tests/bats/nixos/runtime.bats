#!/usr/bin/env bats
# What the slots' units become under microvm.nix and Cloud Hypervisor at the pinned revisions:
# nixos/rules/runtime.json holds the upstream rules (with their sources), and these tests apply
# them to what nixos/lib generates for every fixture and the committed deployment data.
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
  RUNTIME="$NIXOS/rules/runtime.json"
}

# The unit type microvm.nix gives microvm@<slot> for a guest's microvm values (stdin: the
# { <slot>: <lib/guest.nix values> } of lib/slots.nix), by the rule runtime.json copies from
# nixos-modules/host/default.nix and lib/runners/cloud-hypervisor.nix.
unit_types() {
  jq -c --slurpfile rt "$RUNTIME" '
    $rt[0].microvmUnit as $u
    | map_values(.microvm as $m
        | ([$u.notifyWhenGuestSets[] | split(".") as $p | $m | getpath($p)] | any(. != null)) as $set
        | (($m["cloud-hypervisor"].extraArgs // []) as $a
            | [range(0; ($a | length) - 1) | select($a[.] == $u.notifyWhenExtraArg.flag) | $a[. + 1]
               | test($u.notifyWhenExtraArg.param + "=[^,]+")] | any) as $extra
        | if $set or $extra then "notify" else "simple" end)'
}

@test "every slot's microvm@ unit is Type=notify only on a platform that delivers the notify socket" {
  local system fx types
  system=$(nix_eval "(import $NIXOS/lib/platform.nix).system" | jq -r .)
  [ "$system" = aarch64-linux ]
  for fx in "$FIXTURES"/*.json "$NIXOS/infra.json"; do
    run --separate-stderr generate slots "$fx"
    [ "$status" -eq 0 ] || { echo "$fx: $stderr" >&2; return 1; }
    types=$(unit_types <<<"$output")
    [ "$(jq 'length' <<<"$types")" -gt 0 ]
    # A notify unit on a platform whose Cloud Hypervisor drops the OEM strings never becomes
    # ready: it is killed at the start timeout and restarted, forever.
    jq -e --slurpfile rt "$RUNTIME" --arg system "$system" \
      'all(.[]; . == "simple" or ($rt[0].notifySocket.oemStringsSystems | index($system)))' <<<"$types" \
      || { echo "$fx on $system: $types" >&2; return 1; }
  done
}

@test "readiness: a vsock CID (and Type=notify) exactly where Cloud Hypervisor passes OEM strings" {
  run --separate-stderr nix_eval "map (system: let r = import $NIXOS/lib/readiness.nix system; in {
      inherit system; inherit (r) notify unitType; cids = map r.vsockCid [ 1 2 254 ]; }) [ \"aarch64-linux\" \"x86_64-linux\" ]"
  [ "$status" -eq 0 ]
  [ "$(jq -c '.[0]' <<<"$output")" = '{"cids":[null,null,null],"notify":false,"system":"aarch64-linux","unitType":"simple"}' ]
  # Where notify works: unique CIDs, never 0, 1, 2 (hypervisor, loopback, host) or 2^32-1.
  [ "$(jq -c '.[1]' <<<"$output")" = '{"cids":[3,4,256],"notify":true,"system":"x86_64-linux","unitType":"notify"}' ]
  # readiness.nix's verdict is the upstream rule applied to the CID it gives.
  [ "$(jq -c --slurpfile rt "$RUNTIME" '[.[] | .system as $s | ($rt[0].notifySocket.oemStringsSystems | index($s) != null) == .notify] | all' <<<"$output")" = true ]
}

@test "runtime.json: every upstream fact cites a repository and a path" {
  jq -e '[.microvmUnit, .notifySocket, .nixosModules, .tailscaleRoutingFeatures, .rrsync][] | .sources
         | length > 0 and all(.repo and (.path or .issue) and .what)' "$RUNTIME"
  # The pins it was read at are the ones the flake locks.
  [ "$(jq -r .pins.microvm.rev "$RUNTIME")" = "$(jq -r .nodes.microvm.locked.rev "$NIXOS/flake.lock")" ]
  [ "$(jq -r .pins.nixpkgs.rev "$RUNTIME")" = "$(jq -r .nodes.nixpkgs.locked.rev "$NIXOS/flake.lock")" ]
}

@test "tailscale: the routing features the host asks for forward, and leave reverse-path filtering strict" {
  local mode
  # modules/tailscale.nix evaluated with the one lib function it uses (mkIf as a plain if).
  mode=$(nix_eval "{ nixos, fixture }: (import (nixos + \"/modules/tailscale.nix\") {
      lib.mkIf = c: v: if c then v else { };
      infra = builtins.fromJSON (builtins.readFile fixture); }).services.tailscale.useRoutingFeatures" \
    --argstr nixos "$NIXOS" --argstr fixture "$FIXTURES/five-slots.json" | jq -r .)
  # A subnet router must forward; the comment beside the setting says the filter stays strict.
  [ "$(jq -c --arg m "$mode" '.tailscaleRoutingFeatures.effects[$m]' "$RUNTIME")" = '{"forwarding":true,"looseReversePath":false}' ]
  run grep -n 'loose reverse-path' "$NIXOS/modules/tailscale.nix"
  [ "$status" -eq 1 ]
}
