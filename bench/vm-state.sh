#!/usr/bin/env bash
# Benchmark of vm-state on the files backend: `clone` and `snapshot` of a 1 GiB sparse image
# holding 256 MiB of data, against a plain `cp --sparse=always` of the same image, and the time
# of an `apply` that has nothing to do. Runs in a temporary root (default under /var/tmp, i.e. on
# the same kind of disk the states would use; set BENCH_DIR to measure another filesystem) with
# the recording fake systemctl from the tests, so no VM is involved. The image was just written,
# so reads come from the page cache: this measures the copy, not the disk.
#
# Usage: bench/vm-state.sh [ROUNDS]   (default 5; the table shows the median of the rounds)
set -euo pipefail
shopt -s inherit_errexit

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-5}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || {
  echo "Usage: $0 [ROUNDS]" >&2
  exit 2
}
work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/vm-state-bench.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

export VM_STATE_ROOT=$work/root VM_STATE_CONFIG=$work/infra.json
export VM_STATE_SYSTEMCTL=$repo/tests/fakes/systemctl
export FAKE_SYSTEMCTL_DIR=$work/units FAKE_SYSTEMCTL_LOG=$work/systemctl.log
unset VM_STATE_BACKEND VM_STATE_LOCK
jq -n '{version: 1, storage: {backend: "files"}, guest: {dataLabel: "vmstate"},
        slots: [{name: "slot1", index: 1}]}' >"$VM_STATE_CONFIG"
vm() { "$repo/scripts/vm-state" "$@" 2>/dev/null; }

# Milliseconds taken by a command.
ms() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

vm create bench --size-gib 1
img=$VM_STATE_ROOT/states/bench/data.img
# 256 MiB of incompressible data, in four 64 MiB runs spread over the image.
for offset in 64 320 576 832; do
  dd if=/dev/urandom of="$img" bs=1M count=64 seek="$offset" conv=notrunc status=none
done
sync

reflink=no
printf x >"$work/probe"
if cp --reflink=always "$work/probe" "$work/probe2" 2>/dev/null; then reflink=yes; fi

cp_ms=() clone_ms=() snap_ms=() apply_ms=()
echo '{"slots": {"slot1": "bench"}}' >"$work/want.json"
vm apply "$work/want.json"
: >"$FAKE_SYSTEMCTL_LOG"
for i in $(seq "$rounds"); do
  cp_ms+=("$(ms cp --sparse=always "$img" "$work/plain-$i.img")")
  clone_ms+=("$(ms vm clone bench "copy-$i")")
  snap_ms+=("$(ms vm snapshot bench "snap-$i")")
  apply_ms+=("$(ms vm apply "$work/want.json")")
  rm -f "$work/plain-$i.img"
  vm delete --yes "copy-$i"
  vm delete-snapshot --yes "bench@snap-$i"
done
if [[ -s $FAKE_SYSTEMCTL_LOG ]]; then
  echo "apply no-op stopped or started a slot: $(cat "$FAKE_SYSTEMCTL_LOG")" >&2
  exit 1
fi

cp_med=$(median "${cp_ms[@]}")
ratio() { awk -v a="$1" -v b="$cp_med" 'BEGIN {printf (b > 0 ? "%.2fx" : "-"), a / b}'; }
fs=$(stat -f -c %T "$work")
alloc=$(($(stat -c '%b * %B' "$img") / 1048576))
printf 'vm-state files backend: 1 GiB image, %s MiB allocated, on %s (reflink: %s), median of %s rounds\n\n' \
  "$alloc" "$fs" "$reflink" "$rounds"
printf '| %-36s | %9s | %-8s |\n' operation "time (ms)" "vs cp"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..38})" "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..10})"
printf '| %-36s | %9s | %-8s |\n' "cp --sparse=always (baseline)" "$cp_med" "1.00x"
printf '| %-36s | %9s | %-8s |\n' "vm-state clone" "$(median "${clone_ms[@]}")" "$(ratio "$(median "${clone_ms[@]}")")"
printf '| %-36s | %9s | %-8s |\n' "vm-state snapshot" "$(median "${snap_ms[@]}")" "$(ratio "$(median "${snap_ms[@]}")")"
printf '| %-36s | %9s | %-8s |\n' "vm-state apply (nothing to change)" "$(median "${apply_ms[@]}")" "-"
