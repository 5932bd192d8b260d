#!/usr/bin/env bats
# The zfs backend's command sequences, against a recording fake zfs (fakes/zfs). The real ZFS
# path is exercised only by the flake's NixOS VM test, not here.

load helpers

setup() {
  setup_vm_state
  write_config zfs slot1 slot2
  mkdir -p "$FAKE_ZFS_DIR" "$VM_STATE_ROOT/states"
  printf 'tank/states\t1700000000\n' >"$FAKE_ZFS_DIR/db"
}

# The zfs calls that change something, since the last call, with the pid normalised.
zfs_changes() {
  grep -v -e '^zfs list ' -e '^zfs get ' "$FAKE_ZFS_LOG" | sed 's/_vmstate-copy-[0-9]*/_vmstate-copy-PID/g' || true
  : >"$FAKE_ZFS_LOG"
}
zfs_create_state() { # NAME TEXT
  vm create "$1" --size-gib 1 2>/dev/null
  put_text "$(img "$1")" $((512 * MiB)) "$2"
  : >"$FAKE_ZFS_LOG"
}

@test "zfs create: a dataset under a temporary name, the image made in its mountpoint, renamed last" {
  run vm create web --size-gib 1
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs create tank/states/_tmp-web
zfs rename tank/states/_tmp-web tank/states/web" ]
  [ "$(e2label "$(img web)")" = vmstate ]
  run vm create --if-missing web
  [ "$status" -eq 0 ]
  [ -z "$(zfs_changes)" ]
}

@test "zfs clone is send | receive into a temporary name, then rename: no zfs clone, no promote" {
  zfs_create_state src "zfs source"
  run vm clone src copy
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs snapshot tank/states/src@_vmstate-copy-PID
zfs send tank/states/src@_vmstate-copy-PID
zfs receive -u tank/states/_tmp-copy
zfs destroy tank/states/_tmp-copy@_vmstate-copy-PID
zfs destroy tank/states/src@_vmstate-copy-PID
zfs rename tank/states/_tmp-copy tank/states/copy
zfs mount tank/states/copy" ]
  [ "$(get_text "$(img copy)" $((512 * MiB)) 10)" = "zfs source" ]
  run vm delete --yes src
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs destroy -r tank/states/src" ]
  run --separate-stderr vm list --json
  [ "$(jq -c '[.states[].name]' <<<"$output")" = '["copy"]' ]
  run grep -E '^zfs (clone|promote)' "$FAKE_ZFS_LOG"
  [ "$status" -eq 1 ]
}

@test "zfs snapshot, snapshots, restore, delete-snapshot and delete" {
  zfs_create_state web "version one"
  run vm snapshot web v1
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs snapshot tank/states/web@v1" ]
  run --separate-stderr vm snapshots web --json
  [ "$(jq -c '[.snapshots[].name]' <<<"$output")" = '["v1"]' ]
  [[ $(jq -r '.snapshots[0].created' <<<"$output") == 2023-11-* ]]
  run vm restore web@v1 old
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs send tank/states/web@v1
zfs receive -u tank/states/_tmp-old
zfs destroy tank/states/_tmp-old@v1
zfs rename tank/states/_tmp-old tank/states/old
zfs mount tank/states/old" ]
  [ "$(get_text "$(img old)" $((512 * MiB)) 11)" = "version one" ]
  run vm delete-snapshot --yes web@v1
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs destroy tank/states/web@v1" ]
  run vm delete --yes web
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs destroy -r tank/states/web" ]
  [ -f "$(img old)" ]
}

@test "zfs assign takes the safety snapshot with zfs snapshot" {
  zfs_create_state one "one"
  zfs_create_state two "two"
  vm assign slot1 one 2>/dev/null
  : >"$FAKE_ZFS_LOG"
  run vm assign slot1 two
  [ "$status" -eq 0 ]
  [[ $(zfs_changes) =~ ^zfs\ snapshot\ tank/states/one@pre-assign-[0-9]{8}-[0-9]{6}$ ]]
}

@test "zfs: a failed receive leaves neither a state nor the helper snapshot" {
  zfs_create_state src "data"
  FAKE_ZFS_FAIL=receive run vm clone src copy
  [ "$status" -eq 1 ]
  run "$FAKES/zfs" list -H -o name -t filesystem,snapshot -r tank/states
  [ "$output" = "tank/states
tank/states/src" ]
}

@test "zfs: leftovers of a killed run are destroyed by the next mutation and never listed" {
  zfs_create_state src "data"
  "$FAKES/zfs" create tank/states/_tmp-copy
  "$FAKES/zfs" snapshot tank/states/src@_vmstate-copy-123
  run --separate-stderr vm list --json
  [ "$(jq -c '[.states[].name]' <<<"$output")" = '["src"]' ]
  run --separate-stderr vm snapshots src --json
  [ "$(jq -c '.snapshots' <<<"$output")" = '[]' ]
  : >"$FAKE_ZFS_LOG"
  run vm clone src copy
  [ "$status" -eq 0 ]
  [ "$(zfs_changes | head -2 | LC_ALL=C sort)" = "zfs destroy -r tank/states/_tmp-copy
zfs destroy tank/states/src@_vmstate-copy-PID" ]
  [ "$(get_text "$(img copy)" $((512 * MiB)) 4)" = data ]
}

@test "zfs: unknown states and an existing target are refused without changing anything" {
  run vm clone nosuch copy
  [ "$status" -eq 4 ]
  zfs_create_state web "x"
  run vm create web --size-gib 1
  [ "$status" -eq 4 ]
  run vm snapshot web v1
  run vm snapshot web v1
  [ "$status" -eq 4 ]
  [ "$(zfs_changes)" = "zfs snapshot tank/states/web@v1" ]
}
