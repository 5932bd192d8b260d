#!/usr/bin/env bats
# acceptance/host/probe.sh, the acceptance run's probe from a slot's network, for real: run inside
# the host namespace of the network lab (tests/bats/nixos-net/lab.bash: the bridges of networkd.nix
# and the ruleset of nftables.nix loaded by the real nft), it sees what a slot's VM sees: its own
# VM and the internet, not another slot, the metadata address or the host's SSH. Without the
# ruleset the same probes get through (so "blocked" is the ruleset's doing), and nothing is left
# behind. (HTTPS through the egress proxy needs curl and a TLS site: only the real run checks it.
# Its own VM is not probed: where br_netfilter is loaded, as on this machine, bridged traffic meets
# the ruleset's slot rules, which a NixOS host without it does not do.)

load ../nixos-net/helpers
load ../nixos-net/lab

setup_file() {
  require_root
  nix_setup
  require_tools jq nft ip socat ping timeout ss sysctl
  # shellcheck disable=SC2153 # FIXTURES comes from the nixos helpers
  lab_up "$FIXTURES/workloads.json"
}

teardown_file() {
  labs_down
}

setup() {
  read -r LAB FIXTURE <"$BATS_FILE_TMPDIR/labs"
  lab_use "$LAB" "$FIXTURE"
  PROBE=$BATS_TEST_DIRNAME/../../../acceptance/host/probe.sh
}

# probe SLOT_INDEX KIND TARGET: probe.sh from that slot's bridge, in the lab's host.
probe() {
  local i=$1
  in_ns "$NS_HOST" bash "$PROBE" "$(jq -r ".slots[$i].bridge" "$FIXTURE")" \
    "$(jq -r ".slots[$i].address | sub(\"2$\"; \"3\")" "$FIXTURE")/$(jq -r ".slots[$i].prefixLength" "$FIXTURE")" \
    "${GATEWAYS[i]}" "$2" "$3"
}

@test "from an internet slot's bridge: the internet, nothing else" {
  [ "${EGRESS[0]}" = internet ]
  run probe 0 tcp "$INTERNET:80"
  [ "$status" -eq 0 ]
  run probe 0 ping "${ADDRESSES[1]}"
  [ "$status" -eq 1 ]
  run probe 0 tcp "${ADDRESSES[1]}:22"
  [ "$status" -eq 1 ]
  run probe 0 tcp "$METADATA:80"
  [ "$status" -eq 1 ]
  run probe 0 tcp "${GATEWAYS[0]}:22"
  [ "$status" -eq 1 ]
}

@test "from a slot with egress none: not the internet either" {
  [ "${EGRESS[2]}" = none ]
  run probe 2 tcp "$INTERNET:80"
  [ "$status" -eq 1 ]
  run probe 2 tcp "$METADATA:80"
  [ "$status" -eq 1 ]
}

@test "without the ruleset the same probes get through: the blocks above are the ruleset's" {
  unload_ruleset
  run probe 0 tcp "${ADDRESSES[1]}:22"
  local to_slot=$status
  run probe 0 tcp "$METADATA:80"
  local to_metadata=$status
  load_ruleset
  [ "$to_slot" -eq 0 ]
  [ "$to_metadata" -eq 0 ]
}

@test "it leaves no namespace and no link behind; bad arguments and a missing bridge are refused" {
  run probe 0 tcp "$INTERNET:80"
  [ "$status" -eq 0 ]
  run ip netns list
  [[ $output != *acc-probe-* ]]
  run in_ns "$NS_HOST" ip -o link show
  [[ $output != *acp* ]]
  run in_ns "$NS_HOST" bash "$PROBE" br-none 10.9.0.3/24 10.9.0.1 ping 10.9.0.2
  [ "$status" -eq 2 ]
  [ "$output" = "probe: br-none is not a bridge on this host" ]
  run in_ns "$NS_HOST" bash "$PROBE" "$(jq -r '.slots[0].bridge' "$FIXTURE")" 10.1.0.3/24 10.1.0.1 udp 10.1.0.2
  [ "$status" -eq 2 ]
  run in_ns "$NS_HOST" bash "$PROBE" "br x" 10.1.0.3/24 10.1.0.1 ping 10.1.0.2
  [ "$status" -eq 2 ]
}
