#!/usr/bin/env bats
# nixos/lib/nftables.nix: the ruleset text generated from infra.json fixtures.
# (isolation-*.bats loads the same text into network namespaces and checks what it does.)

load helpers

setup() {
  nix_setup
  require_tools jq
}

# assert_slot_rules FIXTURE RULESET: every slot of FIXTURE has its bridge and subnet in the sets,
# its gateway ping rule and its anti-spoofing rule.
assert_slot_rules() {
  local fixture=$1 text=$2 name bridge subnet gateway
  while IFS=$'\t' read -r name bridge subnet gateway; do
    grep -qF "\"$bridge\"" <<<"$(grep -A2 'set slot_bridges' <<<"$text")" || {
      echo "$name: bridge $bridge not in slot_bridges" >&2
      return 1
    }
    grep -qF "$subnet" <<<"$(grep -A3 'set slot_subnets' <<<"$text")" || {
      echo "$name: subnet $subnet not in slot_subnets" >&2
      return 1
    }
    grep -qxF "    iifname \"$bridge\" ip saddr $subnet ip daddr $gateway icmp type echo-request accept comment \"$name: ping its gateway\"" <<<"$text" || {
      echo "$name: no gateway ping rule" >&2
      return 1
    }
    grep -qxF "    iifname \"$bridge\" ip saddr != $subnet counter drop comment \"$name: spoofed source\"" <<<"$text" || {
      echo "$name: no anti-spoofing rule" >&2
      return 1
    }
  done < <(jq -r '.slots[] | [.name, .bridge, .subnet, .gateway] | @tsv' "$fixture")
}

@test "five slots: each slot's bridge, subnet, gateway rule and anti-spoofing rule" {
  text=$(ruleset "$FIXTURES/five-slots.json")
  assert_slot_rules "$FIXTURES/five-slots.json" "$text"
  [ "$(grep -c 'ping its gateway' <<<"$text")" -eq 5 ]
  [ "$(grep -c 'spoofed source' <<<"$text")" -eq 5 ]
}

@test "five slots: nothing for a slot that does not exist" {
  text=$(ruleset "$FIXTURES/five-slots.json")
  run ! grep -qE 'slot6|10\.6\.0\.' <<<"$text"
}

@test "six slots: slot6 is added everywhere slot1 is" {
  text=$(ruleset "$FIXTURES/six-slots.json")
  assert_slot_rules "$FIXTURES/six-slots.json" "$text"
  [ "$(grep -c 'slot6' <<<"$text")" -eq "$(grep -c 'slot1' <<<"$text")" ]
  [ "$(grep -c 'ping its gateway' <<<"$text")" -eq 6 ]
}

@test "custom slot: 'build' with index 42 gets its own rules from its own fields" {
  text=$(ruleset "$FIXTURES/custom-slot.json")
  assert_slot_rules "$FIXTURES/custom-slot.json" "$text"
  grep -qxF '    iifname "br-build" ip saddr 10.42.0.0/24 ip daddr 10.42.0.1 icmp type echo-request accept comment "build: ping its gateway"' <<<"$text"
  run ! grep -qE 'slot3|10\.3\.0\.' <<<"$text"
}

@test "only slot bridges and tailscale0 are named: no uplink interface is hard-coded" {
  for fixture in "$FIXTURES"/*.json; do
    text=$(ruleset "$fixture")
    allowed=$(jq -r '.slots[] | .bridge' "$fixture"; echo tailscale0)
    while read -r name; do
      grep -qxF "$name" <<<"$allowed" || {
        echo "$(basename "$fixture"): unexpected interface $name" >&2
        return 1
      }
    done < <(grep -oE '(iif|oif)name (!= )?"[^"]+"' <<<"$text" | grep -oE '"[^"]+"' | tr -d '"')
    # The bridges are also the only elements of slot_bridges, the set the masquerade rule excludes.
    grep -qF 'ip saddr @slot_subnets oifname != @slot_bridges oifname != "tailscale0" masquerade' <<<"$text"
  done
}

@test "replaces only its own table: no flush ruleset, one table inet microvm" {
  text=$(ruleset "$FIXTURES/five-slots.json")
  run ! grep -q 'flush ruleset' <<<"$text"
  [ "$(grep -E '^(table|delete table) ' <<<"$text")" = "table inet microvm
delete table inet microvm
table inet microvm {" ]
}

@test "nft accepts the generated ruleset for every fixture" {
  require_root
  require_tools nft unshare
  for fixture in "$FIXTURES"/*.json; do
    ruleset "$fixture" >"$BATS_TEST_TMPDIR/ruleset.nft"
    # --net: a throwaway namespace, so even a check cannot touch this machine's rules.
    run unshare --net nft -c -f "$BATS_TEST_TMPDIR/ruleset.nft"
    [ "$status" -eq 0 ] || {
      echo "$(basename "$fixture"): $output" >&2
      return 1
    }
  done
}

@test "fleet: slots are kept from the fleet's other hosts; a one-host ruleset has no such rule" {
  text=$(ruleset "$FIXTURES/fleet-main.json")
  grep -qxF '    ip daddr { 172.20.2.10 } counter drop comment "the fleet'"'"'s other hosts"' <<<"$text"
  # In slot_out, before the internet slots are let out.
  local chain
  chain=$(sed -n '/chain slot_out/,/^  }/p' <<<"$text")
  [ "$(grep -n "fleet's other hosts" <<<"$chain" | cut -d: -f1)" -lt "$(grep -n '@egress_internet accept' <<<"$chain" | cut -d: -f1)" ]
  text=$(ruleset "$FIXTURES/fleet-big.json")
  grep -qF 'ip daddr { 172.20.1.10 } counter drop comment "the fleet' <<<"$text"
  for f in five-slots six-slots custom-slot workloads; do
    run ! grep -q 'fleet' <<<"$(ruleset "$FIXTURES/$f.json")"
  done
}
