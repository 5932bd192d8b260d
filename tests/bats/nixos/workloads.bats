#!/usr/bin/env bats
# The workload fields of a slot (egress, publish, modules; issue 13), evaluated with no nixpkgs:
# defaults, validation, which slot gets which guest module, the per-slot egress data.
# (tests/bats/nixos-net/workloads.bats runs the generated proxy, resolvers and ruleset for real.)
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
  W="$FIXTURES/workloads.json"
}

@test "defaults: egress internet, nothing published, no modules; hostPort defaults to port" {
  run --separate-stderr generate slot-defaults "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ]
  jq -e 'all(.egress == {policy: "internet", domains: []} and .publish == [] and .modules == [])' <<<"$output"
  run --separate-stderr generate slot-defaults "$W" \
    'infra: infra // { slots = map (s: s // { publish = [ { port = 9000; to = "internet"; sources = [ "192.0.2.0/24" ]; } ]; }) [ (builtins.head infra.slots) ]; }'
  [ "$(jq -c '.[0].publish' <<<"$output")" = '[{"hostPort":9000,"port":9000,"sources":["192.0.2.0/24"],"to":"internet"}]' ]
}

# rejects EDIT FIELD: validate.nix refuses workloads.json edited by EDIT, naming FIELD.
rejects() {
  run --separate-stderr generate validate "$W" "$1"
  [ "$status" -ne 0 ] || { echo "accepted: $1" >&2; return 1; }
  grep -qF "infra.json: $2" <<<"$stderr" || { echo "no problem reported for $2 in: $stderr" >&2; return 1; }
}
slot0() { echo "infra: infra // { slots = [ ((builtins.head infra.slots) // $1) ] ++ builtins.tail infra.slots; }"; }

@test "validation: egress" {
  rejects "$(slot0 '{ egress = { policy = "proxy"; }; }')" 'slots[0].egress.policy:'
  rejects "$(slot0 '{ egress = { policy = "allowlist"; }; }')" 'slots[0].egress.domains:'
  rejects "$(slot0 '{ egress = { policy = "allowlist"; domains = [ ]; }; }')" 'slots[0].egress.domains:'
  rejects "$(slot0 '{ egress = { policy = "none"; domains = [ "github.com" ]; }; }')" 'slots[0].egress.domains:'
  rejects "$(slot0 '{ egress = { policy = "internet"; extra = 1; }; }')" 'slots[0].egress.extra: unknown key'
  for d in '1.2.3.4' 'GitHub.com' '*.com' 'a..b' '-a.com' 'github.com/x' '*.*.a.com' 'a.com:443'; do
    rejects "$(slot0 "{ egress = { policy = \"allowlist\"; domains = [ \"$d\" ]; }; }")" 'slots[0].egress.domains[0]:'
  done
}

@test "validation: published ports" {
  rejects "$(slot0 '{ publish = [ { port = 0; to = "tailnet"; } ]; }')" 'slots[0].publish[0].port:'
  rejects "$(slot0 '{ publish = [ { port = 80; to = "world"; } ]; }')" 'slots[0].publish[0].to:'
  rejects "$(slot0 '{ publish = [ { port = 80; to = "internet"; } ]; }')" 'slots[0].publish[0].sources:'
  rejects "$(slot0 '{ publish = [ { port = 80; to = "internet"; sources = [ "203.0.113.1/24" ]; } ]; }')" 'slots[0].publish[0].sources[0]:'
  rejects "$(slot0 '{ publish = [ { port = 80; to = "tailnet"; hostPort = 80; } ]; }')" 'slots[0].publish[0].hostPort:'
  rejects "$(slot0 '{ publish = [ { port = 80; to = "internet"; hostPort = 22; sources = [ "0.0.0.0/0" ]; } ]; }')" 'slots[0].publish[0].hostPort:'
  rejects "$(slot0 '{ publish = [ { port = 80; to = "tailnet"; } { port = 80; to = "tailnet"; } ]; }')" 'slots[0].publish: port 80'
}

@test "validation: two slots publishing the same host port is an error naming both" {
  run --separate-stderr generate validate "$W" \
    'infra: infra // { slots = map (s: if s.name == "slot4" then s // { publish = [ { port = 80; to = "internet"; hostPort = 8080; sources = [ "0.0.0.0/0" ]; } ]; } else s) infra.slots; }'
  [ "$status" -ne 0 ]
  [[ "$stderr" == *'infra.json: slots[].publish[].hostPort: 8080 is used by slot1 and slot4'* ]]
}

@test "validation: module references" {
  for ref in '../x' 'guests/../x' 'guests/' 'a#' '#b' 'a b'; do
    rejects "$(slot0 "{ modules = [ \"$ref\" ]; }")" 'slots[0].modules[0]:'
  done
  rejects "$(slot0 '{ modules = [ "guests/dev-tools" "guests/dev-tools" ]; }')" 'slots[0].modules:'
}

# modules_of [INPUTS]: { slot: [ { ref, kind, file|input, attr, module } ] } with stand-in inputs
# whose modules are strings, so the mapping can be compared as JSON. By default the stand-ins
# export exactly the nixosModules the real inputs export at their pins (nixos/rules/runtime.json,
# which cites microvm.nix's and nixpkgs' flake.nix), no more.
modules_of() {
  local inputs="builtins.mapAttrs (input: names: { nixosModules = builtins.listToAttrs (map (m: { name = m; value = \"\${input}-\${m}\"; }) names); })
    (builtins.fromJSON (builtins.readFile $NIXOS/rules/runtime.json)).nixosModules.inputs"
  nix_eval "{ lib, fixture }: let
      infra = builtins.fromJSON (builtins.readFile fixture);
      inputs = ${1:-$inputs};
      m = import (lib + \"/guest-modules.nix\") { inherit infra inputs; };
    in builtins.mapAttrs (slot: map (x: x // { module = if x.kind == \"input\" then x.module else baseNameOf (toString x.module); })) m" \
    --argstr lib "$NIXOS/lib" --argstr fixture "$W"
}

@test "guest modules: each slot gets exactly its own, from the real inputs' module names" {
  run --separate-stderr modules_of
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  [ "$(jq -c '.slot1 | map([.ref, .kind, .module])' <<<"$output")" = '[["guests/dev-tools","repository","dev-tools.nix"]]' ]
  [ "$(jq -c '.slot2 | map([.ref, .kind, .module])' <<<"$output")" = '[["microvm#microvm-options","input","microvm-microvm-options"],["guests/dev-tools","repository","dev-tools.nix"]]' ]
  [ "$(jq -c '.slot3 | map([.ref, .input, .attr, .module])' <<<"$output")" = '[["microvm#microvm","microvm","microvm","microvm-microvm"]]' ]
  [ "$(jq -c '[.slot4, .slot5]' <<<"$output")" = '[[],[]]' ]
}

@test "guest modules: '<input>' alone means #default, which neither pinned input exports" {
  local edit
  for ref in microvm nixpkgs; do
    edit="{ modules = [ \"$ref\" ]; }"
    run --separate-stderr nix_eval "{ lib, fixture }: import (lib + \"/guest-modules.nix\") {
        infra = (($(slot0 "$edit")) (builtins.fromJSON (builtins.readFile fixture)));
        inputs = builtins.mapAttrs (input: names: { nixosModules = builtins.listToAttrs (map (m: { name = m; value = m; }) names); })
          (builtins.fromJSON (builtins.readFile (lib + \"/../rules/runtime.json\"))).nixosModules.inputs; }" \
      --argstr lib "$NIXOS/lib" --argstr fixture "$W"
    [ "$status" -ne 0 ]
    [[ "$stderr" == *"slot slot1: module \"$ref\": flake input \"$ref\" has no nixosModules.default"* ]] || { echo "$stderr" >&2; return 1; }
  done
}

@test "runtime.json lists the nixosModules of exactly the flake's inputs" {
  [ "$(jq -c '.nixosModules.inputs | keys' "$NIXOS/rules/runtime.json")" = "$(jq -c '.nodes.root.inputs | keys' "$NIXOS/flake.lock")" ]
}

@test "guest modules: an unknown reference is an evaluation error naming the slot and the reference" {
  run --separate-stderr modules_of '{ }'
  [ "$status" -ne 0 ]
  [[ "$stderr" == *'infra.json: slot slot2: module "microvm#microvm-options": no flake input "microvm"'* ]]
  run --separate-stderr modules_of '{ microvm.nixosModules = { other = 1; }; }'
  [ "$status" -ne 0 ]
  [[ "$stderr" == *'slot slot2: module "microvm#microvm-options": flake input "microvm" has no nixosModules.microvm-options'* ]]
  run --separate-stderr generate validate "$W" "$(slot0 '{ modules = [ "guests/no-such-module" ]; }')"
  [ "$status" -eq 0 ] # the form is fine; the file is looked up by guest-modules.nix:
  run --separate-stderr nix_eval "{ lib, fixture }: import (lib + \"/guest-modules.nix\") {
      infra = (($(slot0 '{ modules = [ "guests/no-such-module" ]; }')) (builtins.fromJSON (builtins.readFile fixture))); inputs = { }; }" \
    --argstr lib "$NIXOS/lib" --argstr fixture "$W"
  [ "$status" -ne 0 ]
  [[ "$stderr" == *'slot slot1: module "guests/no-such-module": nixos/guests/no-such-module.nix does not exist'* ]]
}

@test "guests: the DNS each guest is given follows its egress policy" {
  run --separate-stderr generate slots "$W"
  [ "$status" -eq 0 ]
  [ "$(jq -c .slot1.nameservers <<<"$output")" = '["9.9.9.9","149.112.112.112"]' ]
  [ "$(jq -c .slot2.nameservers <<<"$output")" = '["10.2.0.1"]' ]
  [ "$(jq -c .slot3.nameservers <<<"$output")" = '[]' ]
}

@test "egress data: proxy ports, resolvers and firewall openings for allowlist slots only, on their own bridge" {
  run --separate-stderr generate egress "$W"
  [ "$status" -eq 0 ]
  [ "$(jq -c '.ports | keys' <<<"$output")" = '["slot2"]' ]
  [ "$(jq -c '.dnsmasq | keys' <<<"$output")" = '["slot2"]' ]
  [ "$(jq -c '.firewall | keys' <<<"$output")" = '["br-slot2"]' ]
  jq -e '.ports.slot2 as $p | .firewall["br-slot2"].allowedTCPPorts == [53, $p.tls, $p.http]' <<<"$output"
  run --separate-stderr generate egress "$FIXTURES/six-slots.json" \
    'infra: infra // { slots = map (s: s // { egress = { policy = "allowlist"; domains = [ "github.com" ]; }; }) infra.slots; }'
  # Distinct ports, all inside the range the ruleset keeps for slots only.
  jq -e '[.ports[] | .tls, .http] | (unique | length) == length and all(. >= 20000 and . <= 20999)' <<<"$output"
}
