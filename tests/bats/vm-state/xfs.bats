#!/usr/bin/env bats
# The xfs backend, for real, on a loop-mounted XFS with reflinks: refusal without reflinks,
# constant-time copies that take no space, and the whole vm-state suite run over it.

load helpers

setup() {
  setup_vm_state
  require_root
  require_tools mkfs.xfs
}
teardown() { unmount_all; }

used_kib() { df -k --output=used "$1" | tail -1; }

@test "xfs refuses a filesystem without reflinks, saying so, before changing anything" {
  mount_fs xfs 320 "$BATS_TEST_TMPDIR/noreflink" -m reflink=0
  export VM_STATE_ROOT=$BATS_TEST_TMPDIR/noreflink/root
  write_config xfs slot1
  run vm create web --size-gib 1
  [ "$status" -eq 1 ]
  [[ $output == *"vm-state: backend xfs needs reflinks, and the filesystem of $VM_STATE_ROOT/states has none ("*"); format it with 'mkfs.xfs -m reflink=1' or use the files backend"* ]]
  [ ! -e "$VM_STATE_ROOT/states/web" ]
  [ -z "$(ls -A "$VM_STATE_ROOT/states")" ]
}

@test "xfs on a reflink XFS: clone, snapshot and restore take no space and stay independent" {
  mount_fs xfs 2048 "$BATS_TEST_TMPDIR/xfs" -m reflink=1
  export VM_STATE_ROOT=$BATS_TEST_TMPDIR/xfs/root
  write_config xfs slot1
  make_state src "source data"
  dd if=/dev/urandom of="$(img src)" bs=1M count=256 seek=100 conv=notrunc status=none
  sync
  local before sum
  sum=$(checksum "$(img src)")
  before=$(used_kib "$BATS_TEST_TMPDIR/xfs")
  vm clone src copy 2>/dev/null
  vm snapshot src v1 2>/dev/null
  vm restore src@v1 old 2>/dev/null
  sync
  # Three copies of 256+ MiB of data: under 1 MiB each in new blocks.
  [ $(($(used_kib "$BATS_TEST_TMPDIR/xfs") - before)) -lt 3072 ]
  [ "$(checksum "$(img copy)")" = "$sum" ]
  [ "$(checksum "$(img old)")" = "$sum" ]
  put_text "$(img copy)" $((512 * MiB)) "CHANGED...."
  [ "$(get_text "$(img src)" $((512 * MiB)) 11)" = "source data" ]
  [ "$(get_text "$(img old)" $((512 * MiB)) 11)" = "source data" ]
  run vm delete --yes src
  [ "$status" -eq 0 ]
  [ "$(get_text "$(img copy)" $((512 * MiB)) 11)" = "CHANGED...." ]
}

@test "the whole vm-state suite passes on the xfs backend, on a loop-mounted XFS" {
  require_tools bats
  mount_fs xfs 8192 "$BATS_TEST_TMPDIR/xfs" -m reflink=1
  local suite=()
  for f in "$VM_STATE_TESTS"/*.bats; do
    case ${f##*/} in
      xfs.bats | *zfs.bats | package.bats) ;; # this file; the zfs backend's own; no backend
      *) suite+=("$f") ;;
    esac
  done
  VM_STATE_TEST_BACKEND=xfs VM_STATE_TEST_XFS=$BATS_TEST_TMPDIR/xfs run bats "${suite[@]}"
  echo "$output" | grep -v '^ok ' >&2 || true
  [ "$status" -eq 0 ]
  [ "$(grep -c '^ok ' <<<"$output")" -ge 60 ]
}

@test "xfs: a link planted as states/.vm-state-reflink is refused, never written through" {
  mount_fs xfs 320 "$BATS_TEST_TMPDIR/xfs" -m reflink=1
  export VM_STATE_ROOT=$BATS_TEST_TMPDIR/xfs/root
  write_config xfs slot1
  mkdir -p "$VM_STATE_ROOT/states"
  echo "outside data" >"$BATS_TEST_TMPDIR/outside"
  ln -s "$BATS_TEST_TMPDIR/outside" "$VM_STATE_ROOT/states/.vm-state-reflink"
  run vm create web --size-gib 1
  [ "$status" -eq 4 ]
  [[ $output == *"refusing to run: $VM_STATE_ROOT/states/.vm-state-reflink is a symbolic link"* ]]
  [ "$(cat "$BATS_TEST_TMPDIR/outside")" = "outside data" ]
  [ ! -e "$VM_STATE_ROOT/states/web" ]
}
