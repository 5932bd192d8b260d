#!/usr/bin/env bats
# Observability's ports are reachable only from the tailnet (and the host itself), for real: the
# namespace lab of tests/bats/nixos-net/lab.bash (a host with the slots' ruleset, the internet
# behind its uplink, a tailnet client behind tailscale0, one namespace per slot VM) for the fleet
# collector fixture, plus the table nixos/lib/observability.nix generates, loaded by the real nft,
# and a listener on each of its ports (node exporter, Prometheus, Alertmanager, Grafana) on the
# host. The lab has no NixOS firewall, so what is refused here is refused by that table alone.
# shellcheck disable=SC2154 # bats' run sets $output and $status

load ../nixos-net/helpers
load ../nixos-net/lab

setup_file() {
  require_root
  nix_setup
  require_tools jq nft ip socat timeout ss sysctl
  export FIXTURE_FILE="$FIXTURES/observability-big.json"
  lab_up "$FIXTURE_FILE"
  read -r LAB _ <"$BATS_FILE_TMPDIR/labs"
  lab_use "$LAB" "$FIXTURE_FILE"
  generate observability "$FIXTURE_FILE" >"$BATS_FILE_TMPDIR/obs.json"
  jq -r .nftables "$BATS_FILE_TMPDIR/obs.json" >"$BATS_FILE_TMPDIR/observability.nft"
  local port
  for port in $(jq -r '.tailnetPorts[]' "$BATS_FILE_TMPDIR/obs.json"); do
    serve "$NS_HOST" "TCP-LISTEN:$port,fork,reuseaddr" "SYSTEM:echo port-$port"
    wait_listening "$NS_HOST" "$port"
  done
}

teardown_file() {
  labs_down
}

setup() {
  read -r LAB _ <"$BATS_FILE_TMPDIR/labs"
  lab_use "$LAB" "$FIXTURE_FILE"
  LEAKS="$BATS_TEST_TMPDIR/leaks"
  : >"$LEAKS"
  PORTS=$(jq -r '.tailnetPorts[]' "$BATS_FILE_TMPDIR/obs.json")
  in_ns "$NS_HOST" nft -f "$BATS_FILE_TMPDIR/observability.nft"
}

@test "the collector's four ports: node exporter, Prometheus, Alertmanager, Grafana" {
  [ "$(tr '\n' ' ' <<<"$PORTS")" = "9100 9090 9093 3000 " ]
}

@test "control: without the table, the internet would reach the ports (nothing else in the lab stops it)" {
  in_ns "$NS_HOST" nft delete table inet microvm_observability
  [ "$(tcp_read "$NS_INET" "$UPLINK_HOST" 3000)" = port-3000 ]
  [ "$(tcp_read "$NS_INET" "$UPLINK_HOST" 9100)" = port-9100 ]
}

@test "from the tailnet, every port answers" {
  local port
  for port in $PORTS; do
    [ "$(tcp_read "$NS_TS" "$TS_HOST" "$port")" = "port-$port" ] || { echo "tailnet -> $port refused" >&2; return 1; }
  done
}

@test "from the host itself, every port answers (Prometheus scrapes and Grafana queries on 127.0.0.1)" {
  local port
  for port in $PORTS; do
    [ "$(tcp_read "$NS_HOST" 127.0.0.1 "$port")" = "port-$port" ] || { echo "host -> $port refused" >&2; return 1; }
  done
}

@test "from the internet, no port answers, on the uplink's address or the tailnet's" {
  local port
  for port in $PORTS; do
    expect_blocked "internet -> uplink:$port" tcp_read "$NS_INET" "$UPLINK_HOST" "$port" 1
    expect_blocked "internet -> tailscale0's address:$port" tcp_read "$NS_INET" "$TS_HOST" "$port" 1
  done
  no_leaks
}

@test "from every slot, no port answers, on its gateway, the uplink or the tailnet address" {
  local port i
  for i in "${!NAMES[@]}"; do
    for port in $PORTS; do
      expect_blocked "${NAMES[$i]} -> its gateway:$port" tcp_read "$(slot_ns "${NAMES[$i]}")" "${GATEWAYS[$i]}" "$port" 1
      expect_blocked "${NAMES[$i]} -> uplink:$port" tcp_read "$(slot_ns "${NAMES[$i]}")" "$UPLINK_HOST" "$port" 1
      expect_blocked "${NAMES[$i]} -> tailscale0's address:$port" tcp_read "$(slot_ns "${NAMES[$i]}")" "$TS_HOST" "$port" 1
    done
  done
  no_leaks
}

@test "the table loads again over itself (a switch reloads the ruleset) and leaves the slots' table alone" {
  in_ns "$NS_HOST" nft -f "$BATS_FILE_TMPDIR/observability.nft"
  run in_ns "$NS_HOST" nft list tables
  grep -qx 'table inet microvm_observability' <<<"$output"
  grep -qx 'table inet microvm' <<<"$output"
  [ "$(tcp_read "$NS_TS" "$TS_HOST" 3000)" = port-3000 ]
}
