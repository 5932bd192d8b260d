#!/usr/bin/env bats
# The host's textfile exporters, for real on a fake host: nixos/scripts/slot-metrics.sh reads a
# fake cgroup tree, a fake systemctl (unit properties as `systemctl show --timestamp=unix` prints
# them) and a fake ch-remote (Cloud Hypervisor's counters JSON); nixos/scripts/deploy-metrics.sh
# reads a fake system profile and the deployment's switch records. Every output goes through the
# real `promtool check metrics` and is compared with lib/metrics/microvm-host.json. And the small
# script that makes Grafana's secrets on the collector (nixos/scripts/grafana-secrets.sh).
# shellcheck disable=SC2154 # bats' run sets $output, $status and $stderr

load helpers

setup() {
  require_tools jq promtool shellcheck
  ROOT="$BATS_TEST_TMPDIR/host"
  mkdir -p "$ROOT/units" "$ROOT/cgroup" "$ROOT/counters" "$ROOT/microvms" "$ROOT/state/switches" "$ROOT/profiles" "$ROOT/out"
  export PATH="$FAKES:$PATH" FAKE_UNITS="$ROOT/units" FAKE_CH_COUNTERS="$ROOT/counters"
  export SLOT_METRICS_CGROUP="$ROOT/cgroup" VM_STATE_ROOT="$ROOT/microvms"
  export MICROVM_INFRA_STATE_DIR="$ROOT/state" MICROVM_INFRA_SYSTEM_PROFILE="$ROOT/profiles/system"
}

# running SLOT RESTARTS: slot SLOT's unit is active since 1765000000 after RESTARTS automatic
# restarts, with a cgroup and Cloud Hypervisor's counters for two disks and one NIC.
running() {
  printf 'ActiveState=active\nNRestarts=%s\nActiveEnterTimestamp=@1765000000\n' "$2" >"$ROOT/units/microvm@$1.service"
  mkdir -p "$ROOT/cgroup/microvm@$1.service"
  printf 'usage_usec 5250000\nuser_usec 3500001\nsystem_usec 1749999\nnr_periods 0\n' >"$ROOT/cgroup/microvm@$1.service/cpu.stat"
  echo 734003200 >"$ROOT/cgroup/microvm@$1.service/memory.current"
  cat >"$ROOT/counters/$1.json" <<'JSON'
{"_disk0":{"read_bytes":1000,"write_bytes":2000,"read_ops":10,"write_ops":20,"write_latency_min":3,"write_latency_max":9,"write_latency_avg":5,"read_latency_min":1,"read_latency_max":4,"read_latency_avg":2},
 "_disk1":{"read_bytes":7,"write_bytes":0,"read_ops":1,"write_ops":0},
 "_net2":{"rx_bytes":300,"rx_frames":3,"tx_bytes":400,"tx_frames":4}}
JSON
}

# samples FILE: FILE's sample lines only, sorted.
samples() { grep -v '^#' "$1" | sort; }

@test "slot-metrics: a running slot's unit, cgroup and counters; a stopped slot's unit and size only" {
  running slot1 3
  run --separate-stderr "$SCRIPTS/slot-metrics.sh" --output "$ROOT/out/slots.prom" slot1:1:1024 web-2:2:2048
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  diff <(samples "$ROOT/out/slots.prom") <(sort <<'EOF'
microvm_slot_up{slot="slot1"} 1
microvm_slot_up{slot="web-2"} 0
microvm_slot_restarts_total{slot="slot1"} 3
microvm_slot_restarts_total{slot="web-2"} 0
microvm_slot_start_time_seconds{slot="slot1"} 1765000000
microvm_slot_vcpus{slot="slot1"} 1
microvm_slot_vcpus{slot="web-2"} 2
microvm_slot_memory_size_bytes{slot="slot1"} 1073741824
microvm_slot_memory_size_bytes{slot="web-2"} 2147483648
microvm_slot_cpu_seconds_total{slot="slot1",mode="user"} 3.500001
microvm_slot_cpu_seconds_total{slot="slot1",mode="system"} 1.749999
microvm_slot_memory_used_bytes{slot="slot1"} 734003200
microvm_slot_counters_up{slot="slot1"} 1
microvm_slot_counters_up{slot="web-2"} 0
microvm_slot_disk_read_bytes_total{slot="slot1",device="_disk0"} 1000
microvm_slot_disk_read_bytes_total{slot="slot1",device="_disk1"} 7
microvm_slot_disk_written_bytes_total{slot="slot1",device="_disk0"} 2000
microvm_slot_disk_written_bytes_total{slot="slot1",device="_disk1"} 0
microvm_slot_disk_reads_total{slot="slot1",device="_disk0"} 10
microvm_slot_disk_reads_total{slot="slot1",device="_disk1"} 1
microvm_slot_disk_writes_total{slot="slot1",device="_disk0"} 20
microvm_slot_disk_writes_total{slot="slot1",device="_disk1"} 0
microvm_slot_network_receive_bytes_total{slot="slot1",device="_net2"} 300
microvm_slot_network_transmit_bytes_total{slot="slot1",device="_net2"} 400
microvm_slot_network_receive_packets_total{slot="slot1",device="_net2"} 3
microvm_slot_network_transmit_packets_total{slot="slot1",device="_net2"} 4
EOF
)
  # The web-2 VM was not asked for counters: its unit is not active.
  grep -qx 'show --timestamp=unix -p ActiveState,NRestarts,ActiveEnterTimestamp microvm@web-2.service' "$ROOT/units/calls"
}

@test "slot-metrics: the output is valid Prometheus text and has exactly the families, types, help and labels of lib/metrics/microvm-host.json" {
  running slot1 0
  "$SCRIPTS/slot-metrics.sh" --output "$ROOT/out/slots.prom" slot1:1:1024
  run promtool check metrics <"$ROOT/out/slots.prom"
  [ "$status" -eq 0 ]
  diff <(prom_families "$ROOT/out/slots.prom" | jq -S .) <(table_families microvm-host slot-metrics.sh | jq -S .)
}

@test "slot-metrics: the file is replaced atomically, readable by the node exporter, with no temporary left" {
  running slot1 0
  echo "old" >"$ROOT/out/slots.prom"
  "$SCRIPTS/slot-metrics.sh" --output "$ROOT/out/slots.prom" slot1:1:1024
  [ "$(stat -c %a "$ROOT/out/slots.prom")" = 644 ]
  [ "$(ls -A "$ROOT/out")" = slots.prom ]
  grep -q '^microvm_slot_up{slot="slot1"} 1$' "$ROOT/out/slots.prom"
}

@test "slot-metrics: a running VM whose API does not answer, or answers garbage, loses its I/O series only" {
  running slot1 0
  running slot2 0
  rm "$ROOT/counters/slot1.json"
  echo 'not json' >"$ROOT/counters/slot2.json"
  "$SCRIPTS/slot-metrics.sh" --output "$ROOT/out/slots.prom" slot1:1:1024 slot2:1:1024
  grep -qx 'microvm_slot_counters_up{slot="slot1"} 0' "$ROOT/out/slots.prom"
  grep -qx 'microvm_slot_counters_up{slot="slot2"} 0' "$ROOT/out/slots.prom"
  grep -qx 'microvm_slot_up{slot="slot1"} 1' "$ROOT/out/slots.prom"
  grep -qx 'microvm_slot_memory_used_bytes{slot="slot2"} 734003200' "$ROOT/out/slots.prom"
  run grep -c '^microvm_slot_disk_' "$ROOT/out/slots.prom"
  [ "$output" = 0 ]
  promtool check metrics <"$ROOT/out/slots.prom"
}

@test "slot-metrics: a restart-looping slot counts its restarts (NRestarts) even while it is down between two starts" {
  printf 'ActiveState=activating\nNRestarts=57\nActiveEnterTimestamp=@1765000000\n' >"$ROOT/units/microvm@slot1.service"
  "$SCRIPTS/slot-metrics.sh" --output "$ROOT/out/slots.prom" slot1:1:1024
  grep -qx 'microvm_slot_restarts_total{slot="slot1"} 57' "$ROOT/out/slots.prom"
  grep -qx 'microvm_slot_up{slot="slot1"} 0' "$ROOT/out/slots.prom"
  run grep -c '^microvm_slot_start_time_seconds{' "$ROOT/out/slots.prom"
  [ "$output" = 0 ]
}

@test "slot-metrics: unreadable cgroup values and a malformed NRestarts are left out, never printed as garbage" {
  printf 'ActiveState=active\nNRestarts=[not set]\nActiveEnterTimestamp=\n' >"$ROOT/units/microvm@slot1.service"
  mkdir -p "$ROOT/cgroup/microvm@slot1.service"
  printf 'user_usec max\nsystem_usec 12\n' >"$ROOT/cgroup/microvm@slot1.service/cpu.stat"
  echo max >"$ROOT/cgroup/microvm@slot1.service/memory.current"
  "$SCRIPTS/slot-metrics.sh" --output "$ROOT/out/slots.prom" slot1:1:1024
  promtool check metrics <"$ROOT/out/slots.prom"
  run grep -E '^microvm_slot_(restarts_total|memory_used_bytes|start_time_seconds)\{|mode="user"' "$ROOT/out/slots.prom"
  [ "$status" -eq 1 ]
  grep -qx 'microvm_slot_cpu_seconds_total{slot="slot1",mode="system"} 0.000012' "$ROOT/out/slots.prom"
}

@test "slot-metrics: usage errors exit 2; an output it cannot write exits 1 naming the file" {
  run --separate-stderr "$SCRIPTS/slot-metrics.sh"
  [ "$status" -eq 2 ]
  [ "$stderr" = "Usage: slot-metrics.sh [--output FILE] SLOT:VCPUS:MEMMIB..." ]
  run --separate-stderr "$SCRIPTS/slot-metrics.sh" 'slot1:1'
  [ "$status" -eq 2 ]
  run --separate-stderr "$SCRIPTS/slot-metrics.sh" 'Slot"1:1:1024'
  [ "$status" -eq 2 ]
  run --separate-stderr "$SCRIPTS/slot-metrics.sh" --output relative.prom slot1:1:1024
  [ "$status" -eq 2 ]
  run --separate-stderr "$SCRIPTS/slot-metrics.sh" --output "$ROOT/missing/slots.prom" slot1:1:1024
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"slot-metrics: could not write $ROOT/missing/slots.prom"* ]]
}

# generation N DATE: the system profile points at generation N, made at DATE.
generation() {
  ln -sfn "/nix/store/$1-nixos-system" "$ROOT/profiles/system-$1-link"
  touch -h -d "$2" "$ROOT/profiles/system-$1-link"
  ln -sfn "system-$1-link" "$ROOT/profiles/system"
}

# switched HASH RC DATE: the deployment's switch to bundle HASH ended with RC at DATE.
switched() {
  mkdir -p "$ROOT/state/switches/$1"
  echo "$2" >"$ROOT/state/switches/$1/rc"
  touch -d "$3" "$ROOT/state/switches/$1/rc"
}

A=aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111
B=bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222

@test "deploy-metrics: the generation, and the newest switch's end and result (a failed one after a good one)" {
  generation 41 '2026-11-30 09:00:00 UTC'
  generation 42 '2026-12-01 10:00:00 UTC'
  switched "$A" 0 '2026-12-01 10:05:00 UTC'
  switched "$B" 1 '2026-12-02 08:00:00 UTC'
  run --separate-stderr "$SCRIPTS/deploy-metrics.sh"
  [ "$status" -eq 0 ]
  diff <(grep -v '^#' <<<"$output") - <<'EOF'
microvm_deploy_generation 42
microvm_deploy_generation_timestamp_seconds 1796119200
microvm_deploy_last_switch_timestamp_seconds 1796198400
microvm_deploy_last_switch_success{bundle="bbbb2222bbbb2222"} 0
EOF
  promtool check metrics <<<"$output"
  diff <(prom_families <(echo "$output") | jq -S .) <(table_families microvm-host deploy-metrics.sh | jq -S .)
}

@test "deploy-metrics: a good switch after a failed one reads 1" {
  generation 7 '2026-12-01 10:00:00 UTC'
  switched "$B" 1 '2026-12-01 09:00:00 UTC'
  switched "$A" 0 '2026-12-01 10:05:00 UTC'
  "$SCRIPTS/deploy-metrics.sh" --output "$ROOT/out/deploy.prom"
  grep -qx "microvm_deploy_last_switch_success{bundle=\"aaaa1111aaaa1111\"} 1" "$ROOT/out/deploy.prom"
  [ "$(stat -c %a "$ROOT/out/deploy.prom")" = 644 ]
}

@test "deploy-metrics: a host that was never deployed has the families and no samples, and is still valid" {
  run --separate-stderr "$SCRIPTS/deploy-metrics.sh"
  [ "$status" -eq 0 ]
  run grep -vc '^#' <<<"$output"
  [ "$output" = 0 ]
  run --separate-stderr "$SCRIPTS/deploy-metrics.sh"
  promtool check metrics <<<"$output"
  [ "$(grep -c '^# TYPE' <<<"$output")" = 4 ]
}

@test "deploy-metrics: usage errors exit 2" {
  run --separate-stderr "$SCRIPTS/deploy-metrics.sh" extra
  [ "$status" -eq 2 ]
  [ "$stderr" = "Usage: deploy-metrics.sh [--output FILE]" ]
}

@test "the exporters, their library and the fakes pass shellcheck" {
  shellcheck "$SCRIPTS/slot-metrics.sh" "$SCRIPTS/deploy-metrics.sh" "$SCRIPTS/metrics-lib.bash" "$FAKES/systemctl" "$FAKES/ch-remote"
}

@test "grafana-secrets: a random key and password, readable by Grafana's user only, made once and then kept" {
  require_root
  local dir="$ROOT/grafana" key
  run --separate-stderr "$SCRIPTS/grafana-secrets.sh" "$dir" nobody nogroup
  [ "$status" -eq 0 ]
  [ "$(stat -c '%a %U %G' "$dir" "$dir/secret-key" "$dir/admin-password" | tr '\n' ';')" = "700 nobody nogroup;400 nobody nogroup;400 nobody nogroup;" ]
  [[ "$(<"$dir/secret-key")" =~ ^[A-Za-z0-9_-]{43}$ ]]
  [ "$(<"$dir/secret-key")" != "$(<"$dir/admin-password")" ]
  key=$(<"$dir/secret-key")
  run --separate-stderr "$SCRIPTS/grafana-secrets.sh" "$dir" nobody nogroup
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  [ "$(<"$dir/secret-key")" = "$key" ]
  [ "$(find "$dir" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')" = "admin-password secret-key " ]
  run --separate-stderr "$SCRIPTS/grafana-secrets.sh" relative nobody nogroup
  [ "$status" -eq 2 ]
  shellcheck "$SCRIPTS/grafana-secrets.sh"
}
