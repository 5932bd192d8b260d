#!/usr/bin/env bash
# Usage: slot-metrics.sh [--output FILE] SLOT:VCPUS:MEMMIB...
#
# Each slot's VM as Prometheus metrics (text format 0.0.4), for the node exporter's textfile
# collector (docs/observability.md; the families are lib/metrics/microvm-host.json):
#   - its unit microvm@SLOT: active or not, and systemd's NRestarts (automatic restarts since it
#     was last started by hand: a restart-looping slot counts up) and when it became active;
#   - CPU time and memory of the unit's cgroup (the Cloud Hypervisor process with its vCPU
#     threads), whatever the storage backend;
#   - disk and network I/O as the VM's own devices count it: Cloud Hypervisor's counters
#     (`ch-remote counters`: read_bytes/write_bytes/read_ops/write_ops per disk, rx_bytes/
#     tx_bytes/rx_frames/tx_frames per network device, rx being what the VM received).
# A slot that is not running has its unit metrics only. Nothing is changed anywhere; one slot that
# cannot be read never hides the others.
#
# FILE is written atomically (a temporary file beside it, renamed); without --output, stdout.
# Environment (the tests point these at fakes):
#   SLOT_METRICS_CGROUP   the slots' cgroups (/sys/fs/cgroup/system.slice/system-microvm.slice;
#                         microvm@SLOT.service below it)
#   VM_STATE_ROOT         the slots' directories (/var/lib/microvms): Cloud Hypervisor's API socket
#                         is SLOT/SLOT.sock there (microvm.nix's default `microvm.socket`)
#   SYSTEMCTL, CH_REMOTE  the commands run (systemctl, ch-remote)
# Exit codes: 0 ok, 1 the output could not be written, 2 usage.
set -euo pipefail
shopt -s inherit_errexit

# family, label, sample, write_output: metrics-lib.bash beside this file, sourced here when run from
# a checkout; the observability module concatenates it in front of this file.
if ! declare -F family >/dev/null; then
  # shellcheck source-path=SCRIPTDIR source=metrics-lib.bash disable=SC1091
  source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/metrics-lib.bash"
fi

usage() {
  echo "Usage: slot-metrics.sh [--output FILE] SLOT:VCPUS:MEMMIB..." >&2
  exit 2
}
log() { printf 'slot-metrics: %s\n' "$*" >&2; }

output=-
if [[ ${1:-} == --output ]]; then
  [[ $# -ge 2 && $2 == /* ]] || usage
  output=$2
  shift 2
fi
[[ $# -ge 1 ]] || usage
cgroup_root=${SLOT_METRICS_CGROUP:-/sys/fs/cgroup/system.slice/system-microvm.slice}
vm_root=${VM_STATE_ROOT:-/var/lib/microvms}
systemctl=${SYSTEMCTL:-systemctl}
ch_remote=${CH_REMOTE:-ch-remote}

slots=() vcpus=() mems=()
for arg in "$@"; do
  # Slot names follow the name rule (lowercase letters, digits, '-'): nothing to escape in a label.
  [[ $arg =~ ^([a-z][a-z0-9-]*):([0-9]+):([0-9]+)$ ]] || usage
  slots+=("${BASH_REMATCH[1]}") vcpus+=("${BASH_REMATCH[2]}") mems+=("${BASH_REMATCH[3]}")
done

# Everything read first, into these (index = the slot's position), then printed family by family.
declare -A active restarts started cpu_user cpu_system mem_used counters_ok
io_lines=() # "SLOT<TAB>DEVICE<TAB>KEY<TAB>VALUE" from Cloud Hypervisor's counters

read_unit() {
  local slot=$1 key value
  active[$slot]=0
  while IFS='=' read -r key value; do
    case $key in
      ActiveState) [[ $value != active ]] || active[$slot]=1 ;;
      NRestarts) if is_number "$value"; then restarts[$slot]=$value; fi ;;
      ActiveEnterTimestamp) if [[ $value =~ ^@([0-9]+)$ ]]; then started[$slot]=${BASH_REMATCH[1]}; fi ;;
    esac
  done < <("$systemctl" show --timestamp=unix -p ActiveState,NRestarts,ActiveEnterTimestamp "microvm@$slot.service" 2>/dev/null || true)
}

read_cgroup() {
  local slot=$1 dir=$cgroup_root/microvm@$1.service key value
  [[ -d $dir ]] || return 0
  if [[ -r $dir/cpu.stat ]]; then
    while read -r key value; do
      [[ $value =~ ^[0-9]+$ ]] || continue
      case $key in
        user_usec) cpu_user[$slot]=$value ;;
        system_usec) cpu_system[$slot]=$value ;;
      esac
    done <"$dir/cpu.stat"
  fi
  if [[ -r $dir/memory.current ]]; then
    value=$(<"$dir/memory.current")
    if is_number "$value"; then mem_used[$slot]=$value; fi
  fi
}

read_counters() {
  local slot=$1 json lines
  counters_ok[$slot]=0
  [[ ${active[$slot]} == 1 ]] || return 0
  json=$("$ch_remote" --api-socket "$vm_root/$slot/$slot.sock" counters 2>/dev/null) || return 0
  # Device ids are Cloud Hypervisor's own (_disk0, _net2, ...): kept as the label, after checking
  # they need no escaping; values must be counts.
  lines=$(jq -r --arg slot "$slot" 'to_entries[] | .key as $d | (.value | to_entries[])
      | select(($d | test("^[A-Za-z0-9_.-]+$")) and (.value | type == "number"))
      | [$slot, $d, .key, (.value | tostring)] | @tsv' <<<"$json" 2>/dev/null) || return 0
  counters_ok[$slot]=1
  if [[ -n $lines ]]; then mapfile -t -O "${#io_lines[@]}" io_lines <<<"$lines"; fi
}

for slot in "${slots[@]}"; do
  read_unit "$slot"
  read_cgroup "$slot"
  read_counters "$slot"
done

# counter_family NAME KEY HELP: one family from Cloud Hypervisor's counter KEY, per slot and device.
counter_family() {
  local name=$1 key=$2 line slot device k value
  family "$name" counter "$3"
  for line in "${io_lines[@]}"; do
    IFS=$'\t' read -r slot device k value <<<"$line"
    [[ $k == "$key" ]] || continue
    sample "$name" "$(label slot "$slot"),$(label device "$device")" "$value"
  done
}

# seconds USEC: microseconds as seconds with six decimals.
seconds() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }

render() {
  local i slot
  family microvm_slot_up gauge "1 when the slot's unit microvm@<slot> is active, 0 otherwise"
  for slot in "${slots[@]}"; do sample microvm_slot_up "$(label slot "$slot")" "${active[$slot]}"; done
  family microvm_slot_restarts_total counter "Automatic restarts of microvm@<slot> (systemd's NRestarts; systemctl reset-failed sets it back to 0)"
  for slot in "${slots[@]}"; do
    if [[ -n ${restarts[$slot]:-} ]]; then sample microvm_slot_restarts_total "$(label slot "$slot")" "${restarts[$slot]}"; fi
  done
  family microvm_slot_start_time_seconds gauge "When microvm@<slot> last became active (Unix time); absent while it is not active"
  for slot in "${slots[@]}"; do
    if [[ ${active[$slot]} == 1 && -n ${started[$slot]:-} ]]; then sample microvm_slot_start_time_seconds "$(label slot "$slot")" "${started[$slot]}"; fi
  done
  family microvm_slot_vcpus gauge "vCPUs the slot's VM is given (infra.json)"
  for i in "${!slots[@]}"; do sample microvm_slot_vcpus "$(label slot "${slots[$i]}")" "${vcpus[$i]}"; done
  family microvm_slot_memory_size_bytes gauge "Memory the slot's VM is given (infra.json)"
  for i in "${!slots[@]}"; do sample microvm_slot_memory_size_bytes "$(label slot "${slots[$i]}")" "$((mems[i] * 1048576))"; done
  family microvm_slot_cpu_seconds_total counter "CPU time of the slot's unit (Cloud Hypervisor and its vCPU threads), from its cgroup's cpu.stat"
  for slot in "${slots[@]}"; do
    if [[ -n ${cpu_user[$slot]:-} ]]; then sample microvm_slot_cpu_seconds_total "$(label slot "$slot"),$(label mode user)" "$(seconds "${cpu_user[$slot]}")"; fi
    if [[ -n ${cpu_system[$slot]:-} ]]; then sample microvm_slot_cpu_seconds_total "$(label slot "$slot"),$(label mode system)" "$(seconds "${cpu_system[$slot]}")"; fi
  done
  family microvm_slot_memory_used_bytes gauge "Memory the slot's unit uses (its cgroup's memory.current: guest memory touched, and the VMM)"
  for slot in "${slots[@]}"; do
    if [[ -n ${mem_used[$slot]:-} ]]; then sample microvm_slot_memory_used_bytes "$(label slot "$slot")" "${mem_used[$slot]}"; fi
  done
  family microvm_slot_counters_up gauge "1 when Cloud Hypervisor's API answered with the running VM's device counters"
  for slot in "${slots[@]}"; do sample microvm_slot_counters_up "$(label slot "$slot")" "${counters_ok[$slot]}"; done
  counter_family microvm_slot_disk_read_bytes_total read_bytes "Bytes the VM read from its virtio-blk device (Cloud Hypervisor's read_bytes)"
  counter_family microvm_slot_disk_written_bytes_total write_bytes "Bytes the VM wrote to its virtio-blk device (Cloud Hypervisor's write_bytes)"
  counter_family microvm_slot_disk_reads_total read_ops "Read requests of the VM on its virtio-blk device (Cloud Hypervisor's read_ops)"
  counter_family microvm_slot_disk_writes_total write_ops "Write requests of the VM on its virtio-blk device (Cloud Hypervisor's write_ops)"
  counter_family microvm_slot_network_receive_bytes_total rx_bytes "Bytes the VM received on its virtio-net device (Cloud Hypervisor's rx_bytes)"
  counter_family microvm_slot_network_transmit_bytes_total tx_bytes "Bytes the VM sent on its virtio-net device (Cloud Hypervisor's tx_bytes)"
  counter_family microvm_slot_network_receive_packets_total rx_frames "Frames the VM received on its virtio-net device (Cloud Hypervisor's rx_frames)"
  counter_family microvm_slot_network_transmit_packets_total tx_frames "Frames the VM sent on its virtio-net device (Cloud Hypervisor's tx_frames)"
}

if ! render | write_output "$output"; then
  log "could not write $output"
  exit 1
fi
