#!/usr/bin/env bash
# Benchmark of vm-state (issue 12): clone and snapshot of a 4 GiB image holding 1 GiB of data,
# on the xfs backend (a loop-mounted XFS with reflinks) and on the files backend on a
# loop-mounted ext4, against a plain `cp --sparse=always` of the same image on that ext4: time
# and extra space of each. Then vm-state's fixed cost per call: a change with nothing to do
# (`create --if-missing`, `apply` of the current map) and a read (`list --json`).
# Both filesystems are files in a temporary directory (BENCH_DIR, default /var/tmp); the recording
# fake systemctl of the tests stands in for systemd, so no VM is involved. The image was just
# written, so reads come from the page cache: this measures the copy, not the disk.
# Needs root (loop mounts), mkfs.xfs (xfsprogs) and mkfs.ext4.
#
# Then issue 19's targets, each paired with `node -e 0` on the same machine (alternating runs,
# medians): `list` on an empty root, clone and snapshot of a 1 GiB and an 8 GiB state on the XFS
# (the two sizes in turn), `list --json` of 100 states against an empty root; each with the load
# average when it was measured.
#
# Usage: bench/vm-state.sh [ROUNDS]   (default 5; the table shows the median of the rounds)
#   VM_STATE_BIN: the vm-state to measure (default scripts/vm-state, the launcher of the TypeScript
#   build; vm-state/dist/vm-state.js measures the build without the launcher)
set -euo pipefail
shopt -s inherit_errexit

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-5}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || {
  echo "Usage: $0 [ROUNDS]" >&2
  exit 2
}
PATH=$PATH:/usr/sbin:/sbin
for tool in mkfs.xfs mkfs.ext4 mount umount jq; do
  command -v "$tool" >/dev/null || {
    echo "bench: needs $tool" >&2
    exit 1
  }
done
((EUID == 0)) || {
  echo "bench: needs root (loop mounts)" >&2
  exit 1
}

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/vm-state-bench.XXXXXX")
cleanup() {
  umount "$work/xfs" 2>/dev/null || true
  umount "$work/ext4" 2>/dev/null || true
  rm -rf -- "$work"
}
trap cleanup EXIT
for fs in xfs ext4; do
  mkdir -p "$work/$fs"
  truncate -s 24G "$work/$fs.img"
  if [[ $fs == xfs ]]; then mkfs.xfs -q -m reflink=1 "$work/$fs.img"; else mkfs.ext4 -q "$work/$fs.img"; fi
  mount -o loop "$work/$fs.img" "$work/$fs"
done

export VM_STATE_SYSTEMCTL=$repo/tests/fakes/systemctl FAKE_ROOT=$work
export VM_STATE_CONFIG=$work/infra.json
unset VM_STATE_BACKEND VM_STATE_LOCK
vm_state=${VM_STATE_BIN:-$repo/scripts/vm-state}
vm() { "$vm_state" "$@" 2>/dev/null; }
use() { # BACKEND FS: vm-state's root on that filesystem, infra.json for that backend
  export VM_STATE_ROOT=$work/$2/root
  jq -n --arg backend "$1" '{version: 1, storage: {backend: $backend}, guest: {dataLabel: "vmstate"},
        slots: [{name: "slot1", index: 1}]}' >"$VM_STATE_CONFIG"
}

# Milliseconds taken by a command.
ms() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
used_kib() {
  sync
  df -k --output=used "$1" | tail -1
}

# A 4 GiB state holding 1 GiB of incompressible data in four 256 MiB runs, on each filesystem.
for pair in "xfs xfs" "files ext4"; do
  read -r backend fs <<<"$pair"
  use "$backend" "$fs"
  vm create bench --size-gib 4
  img=$VM_STATE_ROOT/states/bench/data.img
  for offset in 256 1280 2304 3328; do
    dd if=/dev/urandom of="$img" bs=1M count=256 seek="$offset" conv=notrunc status=none
  done
done
sync

declare -A t=() space=()
# measure NAME FS COMMAND...: time (median over the rounds) and extra KiB (median) of COMMAND.
measure() {
  local name=$1 fs=$2 times=() spaces=() before i
  shift 2
  for i in $(seq "$rounds"); do
    before=$(used_kib "$work/$fs")
    times+=("$(ms "${@//@i@/$i}")")
    spaces+=($(($(used_kib "$work/$fs") - before)))
  done
  t[$name]=$(median "${times[@]}")
  space[$name]=$(median "${spaces[@]}")
}

use xfs xfs
measure "xfs: vm-state clone" xfs vm clone bench copy-@i@
measure "xfs: vm-state snapshot" xfs vm snapshot bench snap-@i@
use files ext4
ext4_img=$VM_STATE_ROOT/states/bench/data.img
measure "ext4: cp --sparse=always (baseline)" ext4 cp --sparse=always "$ext4_img" "$work/ext4/plain-@i@.img"
measure "ext4: vm-state clone (files)" ext4 vm clone bench copy-@i@
measure "ext4: vm-state snapshot (files)" ext4 vm snapshot bench snap-@i@

# Fixed cost: calls that change nothing.
use files ext4
echo '{"slots": {"slot1": "bench"}}' >"$work/want.json"
vm apply "$work/want.json"
: >"$work/systemctl.log"
noop=() apply=() list=()
for i in $(seq $((rounds * 4))); do
  noop+=("$(ms vm create --if-missing bench)")
  apply+=("$(ms vm apply "$work/want.json")")
  list+=("$(ms vm list --json)")
done
if [[ -s $work/systemctl.log ]]; then
  echo "apply with nothing to change stopped or started a slot: $(cat "$work/systemctl.log")" >&2
  exit 1
fi

alloc=$(($(stat -c '%b * %B' "$ext4_img") / 1048576))
printf 'vm-state: 4 GiB image, %s MiB allocated; loop-mounted XFS (reflink) and ext4; median of %s rounds\n\n' \
  "$alloc" "$rounds"
printf '| %-38s | %9s | %12s |\n' operation "time (ms)" "extra space"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..40})" "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..14})"
for name in "ext4: cp --sparse=always (baseline)" "ext4: vm-state clone (files)" "ext4: vm-state snapshot (files)" \
  "xfs: vm-state clone" "xfs: vm-state snapshot"; do
  printf '| %-38s | %9s | %8s MiB |\n' "$name" "${t[$name]}" "$(awk -v k="${space[$name]}" 'BEGIN {printf "%.1f", k / 1024}')"
done
printf '| %-38s | %9s | %12s |\n' "fixed cost: create --if-missing (no-op)" "$(median "${noop[@]}")" "-"
printf '| %-38s | %9s | %12s |\n' "fixed cost: apply, nothing to change" "$(median "${apply[@]}")" "-"
printf '| %-38s | %9s | %12s |\n' "fixed cost: list --json (1 state)" "$(median "${list[@]}")" "-"

# ---------------------------------------------------------------- issue 19's targets
# Microseconds taken by a command.
us() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s%N)
  echo $(((end - start) / 1000))
}
declare -A base=() cost=() load=()
# The 1-minute load average when a measurement ended (other work on the machine moves the figures).
loadavg() { cut -d' ' -f1 /proc/loadavg; }
# paired NAME COMMAND...: the median of COMMAND (@i@: the round) and of `node -e 0`, run in turn.
paired() {
  local name=$1 a=() b=() i
  shift
  for i in $(seq $((rounds * 4))); do
    a+=("$(us node -e 0)")
    b+=("$(us "${@//@i@/$i}")")
  done
  base[$name]=$(median "${a[@]}") cost[$name]=$(median "${b[@]}") load[$name]=$(loadavg)
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

mkdir -p "$work/empty/states"
use files ext4
export VM_STATE_ROOT=$work/empty
paired "list, empty root" vm list
paired "list --json, empty root" vm list --json
use xfs xfs
for size in 1 8; do
  vm create "gib$size" --size-gib "$size"
  dd if=/dev/zero of="$VM_STATE_ROOT/states/gib$size/data.img" bs=64M count=$((size * 16)) conv=notrunc status=none
done
sync
# VERB of the 1 GiB and of the 8 GiB state in turn, round by round, each after its own `node -e 0`:
# both sizes see the same load and the same number of states (every clone adds one, and every
# change checks each state for links), so their ratio compares the image sizes alone. (Run one
# size after the other, the 8 GiB clones ran with 20 more states and at another moment's load.)
paired_sizes() { # VERB NAME PREFIX
  local verb=$1 name=$2 prefix=$3 a1=() b1=() a8=() b8=() i
  for i in $(seq $((rounds * 4))); do
    a1+=("$(us node -e 0)")
    b1+=("$(us vm "$verb" gib1 "${prefix}1-$i")")
    a8+=("$(us node -e 0)")
    b8+=("$(us vm "$verb" gib8 "${prefix}8-$i")")
  done
  base["$name, 1 GiB"]=$(median "${a1[@]}") cost["$name, 1 GiB"]=$(median "${b1[@]}")
  base["$name, 8 GiB"]=$(median "${a8[@]}") cost["$name, 8 GiB"]=$(median "${b8[@]}")
  load["$name, 1 GiB"]=$(loadavg) load["$name, 8 GiB"]=$(loadavg)
}
paired_sizes clone "xfs clone" c
paired_sizes snapshot "xfs snapshot" s
use files ext4
export VM_STATE_ROOT=$work/ext4/hundred
for i in $(seq 100); do vm create "s$i" --size-gib 1; done
paired "list --json, 100 states" vm list --json

printf '\n%s against node -e 0 (%s), paired medians of %s runs\n\n' "$vm_state" "$(node --version)" $((rounds * 4))
printf '| %-26s | %9s | %11s | %6s | %-28s | %5s |\n' operation "time (ms)" "node -e 0" ratio target load
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..28})" "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..13})" "$(printf -- '-%.0s' {1..8})" "$(printf -- '-%.0s' {1..30})" "$(printf -- '-%.0s' {1..7})"
row() { # NAME TARGET
  printf '| %-26s | %9s | %11s | %6s | %-28s | %5s |\n' "$1" "$(awk -v u="${cost[$1]}" 'BEGIN {printf "%.1f", u / 1000}')" \
    "$(awk -v u="${base[$1]}" 'BEGIN {printf "%.1f", u / 1000}')" "$(ratio "${cost[$1]}" "${base[$1]}")" "$2" "${load[$1]}"
}
row "list, empty root" "at most 1.3 x node -e 0"
row "list --json, empty root" "-"
row "xfs clone, 1 GiB" "at most 1.6 x node -e 0"
row "xfs clone, 8 GiB" "within 10% of 1 GiB"
row "xfs snapshot, 1 GiB" "at most 1.6 x node -e 0"
row "xfs snapshot, 8 GiB" "within 10% of 1 GiB"
row "list --json, 100 states" "under 2 x the empty root"
printf '\n8 GiB / 1 GiB: clone %s, snapshot %s; list --json 100 states / empty root: %s\n' \
  "$(ratio "${cost[xfs clone, 8 GiB]}" "${cost[xfs clone, 1 GiB]}")" \
  "$(ratio "${cost[xfs snapshot, 8 GiB]}" "${cost[xfs snapshot, 1 GiB]}")" \
  "$(ratio "${cost[list --json, 100 states]}" "${cost[list --json, empty root]}")"
