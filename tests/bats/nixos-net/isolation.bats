#!/usr/bin/env bats
# Slot isolation, for real: one namespace lab per fixture (5 slots, 6 slots, a custom slot, slots
# with egress policies and published ports, a host of a two-host fleet), built
# from networkd.nix's units and loaded with nftables.nix's ruleset (see lab.bash), then probed.
# Each check runs in every lab; they run as functions inside in_each_lab, so every assertion
# returns explicitly (errexit does not apply there).

load helpers
load lab

setup_file() {
  require_root
  nix_setup
  require_tools jq nft ip socat ping timeout ss sysctl
  for fixture in five-slots six-slots custom-slot workloads fleet-main; do
    lab_up "$FIXTURES/$fixture.json"
  done
}

teardown_file() {
  labs_down
}

# say MESSAGE: a failure's explanation, then fail the check.
say() {
  # shellcheck disable=SC2153 # FIXTURE is set by lab_use (lab.bash)
  echo "$(basename "$FIXTURE"): $*" >&2
  return 1
}

check_control() {
  # Without the ruleset the lab carries what the ruleset must drop; otherwise the "blocked" checks
  # could pass because of a broken lab.
  unload_ruleset || return 1
  local s1 spoofed missing=()
  s1=$(slot_ns "${NAMES[0]}")
  [[ "$(tcp_read "$s1" "${ADDRESSES[1]}" 22)" == "${NAMES[1]}" ]] || missing+=("slot to slot")
  [[ -n "$(tcp_read "$s1" "$METADATA" 80)" ]] || missing+=("slot to metadata")
  [[ "$(tcp_read "$s1" "${GATEWAYS[0]}" 22)" == SSH-2.0-host ]] || missing+=("slot to host SSH")
  [[ "$(tcp_read "$s1" "$TS_CLIENT" 22)" == tailnet-client ]] || missing+=("slot to tailnet")
  [[ "$(tcp_read "$NS_INET" "${ADDRESSES[0]}" 22)" == "${NAMES[0]}" ]] || missing+=("internet to slot")
  for address in "${PEERS[@]}"; do
    [[ "$(tcp_read "$s1" "$address" 22)" == fleet-host ]] || missing+=("slot to fleet host $address")
  done
  spoofed="${SUBNETS[1]%.*/*}.99"
  ip -n "$s1" addr add "$spoofed/32" dev eth0
  udp_send "$s1" "$spoofed" "$INTERNET" 9 "control-spoof"
  sleep 0.3
  grep -q "control-spoof" "$UDP_LOG" || missing+=("spoofed source")
  ip -n "$s1" addr del "$spoofed/32" dev eth0
  load_ruleset || return 1
  ((${#missing[@]} == 0)) || say "without the ruleset the lab does not carry: ${missing[*]}"
}

check_loaded() {
  local set bridge
  set=$(in_ns "$NS_HOST" nft list set inet microvm slot_bridges) || say "no slot_bridges set loaded"
  for bridge in $(jq -r '.slots[].bridge' "$FIXTURE"); do
    grep -qF "\"$bridge\"" <<<"$set" || say "$bridge not in the loaded slot_bridges"
  done
}

check_gateways() {
  local i
  for i in "${!NAMES[@]}"; do
    pings "$(slot_ns "${NAMES[i]}")" "${GATEWAYS[i]}" || say "${NAMES[i]} cannot ping ${GATEWAYS[i]}"
  done
}

check_nat() {
  local i seen
  for i in "${!NAMES[@]}"; do
    if [[ ${EGRESS[i]} == internet ]]; then
      seen=$(tcp_read "$(slot_ns "${NAMES[i]}")" "$INTERNET" 80)
      [[ "$seen" == "$UPLINK_HOST" ]] ||
        say "${NAMES[i]}: the internet saw '$seen', expected the host's uplink $UPLINK_HOST"
    else
      # "none" and "allowlist" slots open no connection of their own (workloads.bats tests the proxy).
      expect_blocked "${NAMES[i]} (egress ${EGRESS[i]}) -> internet tcp/80" tcp_read "$(slot_ns "${NAMES[i]}")" "$INTERNET" 80 1
      expect_blocked "${NAMES[i]} (egress ${EGRESS[i]}) -> internet ping" pings "$(slot_ns "${NAMES[i]}")" "$INTERNET" 1
    fi
  done
  no_leaks
}

check_slot_to_slot() {
  local i j from
  for i in "${!NAMES[@]}"; do
    from=$(slot_ns "${NAMES[i]}")
    for j in "${!NAMES[@]}"; do
      ((i != j)) || continue
      expect_blocked "${NAMES[i]} -> ${NAMES[j]} VM tcp/22" tcp_read "$from" "${ADDRESSES[j]}" 22 1
      expect_blocked "${NAMES[i]} -> ${NAMES[j]} VM ping" pings "$from" "${ADDRESSES[j]}" 1
      expect_blocked "${NAMES[i]} -> ${NAMES[j]} gateway ping" pings "$from" "${GATEWAYS[j]}" 1
    done
  done
  no_leaks
}

check_metadata() {
  local name
  [[ "$(tcp_read "$NS_HOST" "$METADATA" 80)" == "$UPLINK_HOST" ]] || say "the host lost metadata"
  for name in "${NAMES[@]}"; do
    expect_blocked "$name -> metadata tcp/80" tcp_read "$(slot_ns "$name")" "$METADATA" 80 1
    expect_blocked "$name -> metadata ping" pings "$(slot_ns "$name")" "$METADATA" 1
  done
  no_leaks
}

check_host_ssh() {
  local i address
  [[ "$(tcp_read "$NS_INET" "$UPLINK_HOST" 22)" == SSH-2.0-host ]] || say "the uplink lost the host's SSH"
  for i in "${!NAMES[@]}"; do
    for address in "${GATEWAYS[i]}" "$UPLINK_HOST" "$TS_HOST"; do
      expect_blocked "${NAMES[i]} -> host $address tcp/22" \
        tcp_read "$(slot_ns "${NAMES[i]}")" "$address" 22 1
    done
  done
  no_leaks
}

check_fleet_hosts() {
  local i address
  for address in "${PEERS[@]}"; do
    [[ "$(tcp_read "$NS_HOST" "$address" 22)" == fleet-host ]] || say "the host lost the fleet host $address"
    for i in "${!NAMES[@]}"; do
      expect_blocked "${NAMES[i]} -> fleet host $address tcp/22" tcp_read "$(slot_ns "${NAMES[i]}")" "$address" 22 1
      expect_blocked "${NAMES[i]} -> fleet host $address ping" pings "$(slot_ns "${NAMES[i]}")" "$address" 1
    done
  done
  no_leaks
}

check_tailnet() {
  local i said
  for i in "${!NAMES[@]}"; do
    said=$(tcp_read "$NS_TS" "${ADDRESSES[i]}" 22)
    [[ "$said" == "${NAMES[i]}" ]] || say "tailnet -> ${NAMES[i]} (${ADDRESSES[i]}): got '$said'"
    pings "$NS_TS" "${ADDRESSES[i]}" || say "tailnet cannot ping ${NAMES[i]}"
  done
}

check_no_new_connections() {
  local i
  for i in "${!NAMES[@]}"; do
    expect_blocked "internet -> ${NAMES[i]} tcp/22" tcp_read "$NS_INET" "${ADDRESSES[i]}" 22 1
    expect_blocked "${NAMES[i]} -> tailnet tcp/22" \
      tcp_read "$(slot_ns "${NAMES[i]}")" "$TS_CLIENT" 22 1
  done
  no_leaks
}

check_spoofing() {
  local s1 spoofed
  s1=$(slot_ns "${NAMES[0]}")
  spoofed="${SUBNETS[1]%.*/*}.99"
  ip -n "$s1" addr add "$spoofed/32" dev eth0
  udp_send "$s1" "$spoofed" "$INTERNET" 9 "spoofed"
  udp_send "$s1" "${ADDRESSES[0]}" "$INTERNET" 9 "genuine"
  sleep 0.3
  ip -n "$s1" addr del "$spoofed/32" dev eth0
  grep -qx genuine "$UDP_LOG" || say "${NAMES[0]}'s own datagram did not arrive"
  if grep -qx spoofed "$UDP_LOG"; then say "${NAMES[0]} sent as $spoofed and it arrived"; fi
}

@test "control: without the ruleset, each lab carries everything the ruleset must drop" {
  in_each_lab check_control
}

@test "the ruleset is loaded with every slot's bridge" {
  in_each_lab check_loaded
}

@test "each slot pings its own gateway" {
  in_each_lab check_gateways
}

@test "each internet slot reaches the internet, masqueraded behind the host's uplink address; others do not" {
  in_each_lab check_nat
}

@test "no slot reaches another slot: not its VM, not its gateway" {
  in_each_lab check_slot_to_slot
}

@test "no slot reaches instance metadata at 169.254.169.254, which the host still reaches" {
  in_each_lab check_metadata
}

@test "no slot reaches the host's SSH, which the uplink still reaches" {
  in_each_lab check_host_ssh
}

@test "fleet: no slot reaches the fleet's other hosts, which the host still reaches" {
  in_each_lab check_fleet_hosts
}

@test "the tailnet client reaches every slot" {
  in_each_lab check_tailnet
}

@test "nobody outside the tailnet opens a connection to a slot; slots open none into the tailnet" {
  in_each_lab check_no_new_connections
}

@test "a slot cannot send with another slot's address" {
  in_each_lab check_spoofing
}
