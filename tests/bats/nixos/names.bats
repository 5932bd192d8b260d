#!/usr/bin/env bats
# tests/fixtures/names.json, the one accept/reject table for slot, state and snapshot names, run
# through the Nix rule (nixos/lib/rules.nix) and through validate.nix where infra.json carries such
# names (slots[].name, storage.autoSnapshots[].state, fleet.hosts[].name). Fleet hosts follow the
# slot rule (the table's "host" column, the slot column where a case has none). TypeScript and
# vm-state run the same table.
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
  TABLE="$REPO_ROOT/tests/fixtures/names.json"
}

# Every case, in one evaluation: what the rule says, and whether validate.nix accepts the name in
# the place infra.json carries it.
verdicts() {
  nix_eval '{ lib, table, fixture, fleetFixture }:
    let
      rules = import (lib + "/rules.nix");
      validate = import (lib + "/validate.nix");
      infra = builtins.fromJSON (builtins.readFile fixture);
      accepts = i: (builtins.tryEval (builtins.deepSeq (validate i) true)).success;
      asSlot = n: infra // { slots = [ ((builtins.head infra.slots) // { name = n; }) ]; };
      asState = n: infra // { storage = infra.storage // { autoSnapshots = [ { state = n; daily = 1; } ]; }; };
      # The fleet host "big" of fleet-main.json renamed, wherever the fleet names it.
      fleet = (builtins.fromJSON (builtins.readFile fleetFixture)).fleet;
      asHost = n: infra // { fleet = fleet // {
        hosts = map (h: h // { name = if h.name == "big" then n else h.name; }) fleet.hosts;
        replicas = map (r: r // { from = if r.from == "big" then n else r.from; to = if r.to == "big" then n else r.to; }) fleet.replicas;
      }; };
    in
    map (c: {
      inherit (c) name;
      slot = rules.names.slot c.name;
      state = rules.names.state c.name;
      snapshot = rules.names.snapshot c.name;
      host = rules.names.host c.name;
      validateSlot = accepts (asSlot c.name);
      validateHost = accepts (asHost c.name);
      validateState = accepts (asState c.name);
    }) (builtins.fromJSON (builtins.readFile table)).cases' \
    --argstr lib "$NIXOS/lib" --argstr table "$TABLE" --argstr fixture "$FIXTURES/five-slots.json" \
    --argstr fleetFixture "$FIXTURES/fleet-main.json"
}

@test "every case of names.json gets the table's verdict from the Nix rule and from validate.nix" {
  run --separate-stderr verdicts
  [ "$status" -eq 0 ]
  [ "$(jq length <<<"$output")" -eq "$(jq '.cases | length' "$TABLE")" ]
  [ "$(jq length <<<"$output")" -ge 20 ]
  local wrong
  wrong=$(jq -c --slurpfile t "$TABLE" '
    [ ., $t[0].cases ] | transpose[] | . as [$got, $want]
    | ($want.host // $want.slot) as $host
    | select($got.slot != $want.slot or $got.state != $want.state or $got.snapshot != $want.snapshot
             or $got.validateSlot != $want.slot or $got.validateState != $want.state
             or $got.host != $host or $got.validateHost != $host)
    | {name: $want.name, why: $want.why, want: {slot: $want.slot, state: $want.state, snapshot: $want.snapshot}, got: $got}' <<<"$output")
  [ -z "$wrong" ] || { echo "$wrong" >&2; return 1; }
}

@test "the table's length limits and reserved names are the rule's" {
  run --separate-stderr verdicts
  [ "$status" -eq 0 ]
  # The longest accepted names in the table are exactly the table's maxLength.
  [ "$(jq '[.[] | select(.slot) | .name | length] | max' <<<"$output")" -eq "$(jq .maxLength.slot "$TABLE")" ]
  [ "$(jq '[.[] | select(.state) | .name | length] | max' <<<"$output")" -eq "$(jq .maxLength.state "$TABLE")" ]
  for reserved in $(jq -r '.reservedSlotNames[]' "$TABLE"); do
    jq -e --arg n "$reserved" '.[] | select(.name == $n) | .slot == false' <<<"$output"
  done
}
