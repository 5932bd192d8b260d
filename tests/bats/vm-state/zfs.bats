#!/usr/bin/env bats
# The zfs backend against the recording fake zfs (fakes/zfs): the command sequences, and a model
# of clone dependencies that refuses what real ZFS refuses (destroying an origin in use, a
# dataset with snapshots without -r) and every destroy -R and promote. The real ZFS path is
# exercised only by the flake's NixOS VM test, not here.

load helpers

setup() {
  setup_vm_state
  write_config zfs slot1 slot2
  mkdir -p "$FAKE_ZFS_DIR" "$VM_STATE_ROOT/states"
  printf 'tank\t1600000000\t-\t-\ntank/states\t1600000000\t-\t-\n' >"$FAKE_ZFS_DIR/db"
}

# The zfs calls that change something, since the last call, with times and pids normalised.
zfs_changes() {
  grep -v -e '^zfs list ' -e '^zfs get ' "$FAKE_ZFS_LOG" |
    sed -E 's/_vmstate-copy-[0-9]+/_vmstate-copy-PID/g; s/-[0-9]{14}/-TIME/g; s/\.[0-9]{14}/.TIME/g' || true
  : >"$FAKE_ZFS_LOG"
}
zfs_create_state() { # NAME TEXT
  vm create "$1" --size-gib 1 2>/dev/null
  put_text "$(img "$1")" $((512 * MiB)) "$2"
  : >"$FAKE_ZFS_LOG"
}
text_of() { get_text "$(img "$1")" $((512 * MiB)) "${2:-4}"; }
# Every dataset and snapshot the fake holds, one a line.
datasets() { cut -f1 "$FAKE_ZFS_DIR/db" | sed -E 's/-[0-9]{14}/-TIME/g; s/\.[0-9]{14}/.TIME/g'; }
model_ok() { "$FAKES/zfs" __check; }
states() { vm list --json 2>/dev/null | jq -r '[.states[].name] | join(" ")'; }

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

@test "zfs clone is an instant zfs clone of a hidden snapshot, renamed into place; no promote" {
  zfs_create_state src "zfs source"
  run vm clone src copy
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs snapshot tank/states/src@_clone-copy-TIME
zfs clone tank/states/src@_clone-copy-TIME tank/states/_tmp-copy
zfs rename tank/states/_tmp-copy tank/states/copy" ]
  [ "$(text_of copy 10)" = "zfs source" ]
  [ "$("$FAKES/zfs" get -H -o value origin tank/states/copy | sed -E 's/-[0-9]{14}/-TIME/')" = "tank/states/src@_clone-copy-TIME" ]
  run --separate-stderr vm snapshots src --json
  [ "$(jq -c .snapshots <<<"$output")" = '[]' ]
  model_ok
}

@test "zfs clone --independent and restore --independent are send | receive: nothing shared" {
  zfs_create_state src "zfs source"
  run vm clone --independent src copy
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs snapshot tank/states/src@_vmstate-copy-PID
zfs send tank/states/src@_vmstate-copy-PID
zfs receive -u tank/states/_tmp-copy
zfs destroy tank/states/_tmp-copy@_vmstate-copy-PID
zfs destroy tank/states/src@_vmstate-copy-PID
zfs rename tank/states/_tmp-copy tank/states/copy
zfs mount tank/states/copy" ]
  [ "$("$FAKES/zfs" get -H -o value origin tank/states/copy)" = - ]
  vm snapshot src v1 2>/dev/null
  : >"$FAKE_ZFS_LOG"
  run vm restore --independent src@v1 old
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs send tank/states/src@v1
zfs receive -u tank/states/_tmp-old
zfs destroy tank/states/_tmp-old@v1
zfs rename tank/states/_tmp-old tank/states/old
zfs mount tank/states/old" ]
  run vm delete --yes src
  [ "$status" -eq 0 ]
  [ "$(zfs_changes | head -1)" = "zfs destroy -r tank/states/src" ]
  [ "$(text_of copy 10)" = "zfs source" ]
}

@test "zfs snapshot, snapshots, restore (a clone of the snapshot), delete-snapshot and delete" {
  zfs_create_state web "version one"
  run vm snapshot web v1
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs snapshot tank/states/web@v1" ]
  run --separate-stderr vm snapshots web --json
  [ "$(jq -c '[.snapshots[].name]' <<<"$output")" = '["v1"]' ]
  [[ $(jq -r '.snapshots[0].created' <<<"$output") == 2023-11-* ]]
  run vm restore web@v1 old
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs clone tank/states/web@v1 tank/states/_tmp-old
zfs rename tank/states/_tmp-old tank/states/old" ]
  [ "$(text_of old 11)" = "version one" ]
  vm snapshot web v2 2>/dev/null
  : >"$FAKE_ZFS_LOG"
  run vm delete-snapshot --yes web@v2
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs destroy tank/states/web@v2" ]
  run vm delete --yes old
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs destroy -r tank/states/old" ]
  run vm delete --yes web
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs destroy -r tank/states/web" ]
  model_ok
}

@test "zfs: deleting a state clones depend on hides it: gone from list, name free at once, data kept, gc when the last clone goes" {
  zfs_create_state base "base"
  vm clone base copy 2>/dev/null
  : >"$FAKE_ZFS_LOG"
  run vm delete --yes base
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs create -o mountpoint=none tank/deleted
zfs rename tank/states/base tank/deleted/base.TIME" ]
  [[ $output == *"state base is hidden as tank/deleted/base."*"until what depends on it is deleted: copy"* ]]
  [ "$(states)" = copy ]
  [ "$(text_of copy)" = base ]
  run --separate-stderr vm list --all --json
  [ "$(jq -c '[.hidden[] | {was, heldBy}]' <<<"$output")" = '[{"was":"base","heldBy":["copy"]}]' ]
  # The name is free at once.
  run vm create base --size-gib 1
  [ "$status" -eq 0 ]
  : >"$FAKE_ZFS_LOG"
  run vm delete --yes copy
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs destroy -r tank/states/copy
zfs destroy tank/deleted/base.TIME@_clone-copy-TIME
zfs destroy tank/deleted/base.TIME" ]
  [ "$(datasets | grep -c deleted/)" -eq 0 ]
  model_ok
}

@test "zfs: deleting a snapshot a restore depends on hides it; gc destroys it with its last dependent" {
  zfs_create_state web "one"
  vm snapshot web v1 2>/dev/null
  vm restore web@v1 old 2>/dev/null
  : >"$FAKE_ZFS_LOG"
  run vm delete-snapshot --yes web@v1
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs rename tank/states/web@v1 tank/states/web@_deleted-v1-TIME" ]
  run --separate-stderr vm snapshots web --json
  [ "$(jq -c .snapshots <<<"$output")" = '[]' ]
  run vm snapshot web v1
  [ "$status" -eq 0 ]
  run --separate-stderr vm list --all --json
  [ "$(jq -c '[.hidden[] | {was, heldBy}]' <<<"$output")" = '[{"was":"web@v1","heldBy":["old"]}]' ]
  : >"$FAKE_ZFS_LOG"
  run vm delete --yes old
  [ "$(zfs_changes)" = "zfs destroy -r tank/states/old
zfs destroy tank/states/web@_deleted-v1-TIME" ]
  model_ok
}

# Chain: base -> (clone) mid -> (clone) leaf, and base@snap -> (restore) side.
make_chain() {
  zfs_create_state base "base"
  vm snapshot base snap 2>/dev/null
  vm clone base mid 2>/dev/null
  put_text "$(img mid)" $((512 * MiB)) "midd"
  vm clone mid leaf 2>/dev/null
  vm restore base@snap side 2>/dev/null
}

@test "zfs: every order of deleting four dependent states succeeds, never loses a dependent, and leaves nothing behind" {
  local order state left
  for order in "base mid leaf side" "leaf mid base side" "mid base side leaf" "side base leaf mid" \
    "base leaf side mid" "mid leaf side base" "leaf side mid base" "side mid base leaf"; do
    rm -rf "$FAKE_ZFS_DIR" "$VM_STATE_ROOT/states"
    mkdir -p "$FAKE_ZFS_DIR" "$VM_STATE_ROOT/states"
    printf 'tank\t1600000000\t-\t-\ntank/states\t1600000000\t-\t-\n' >"$FAKE_ZFS_DIR/db"
    make_chain
    left="base mid leaf side"
    for state in $order; do
      run vm delete --yes "$state"
      [ "$status" -eq 0 ] || { echo "order $order: delete $state: $output"; return 1; }
      left=$(tr ' ' '\n' <<<"$left" | grep -vx "$state" | tr '\n' ' ')
      model_ok || { echo "order $order, after $state"; return 1; }
      for s in $left; do
        case $s in
          base | side) [ "$(text_of "$s")" = base ] ;;
          mid | leaf) [ "$(text_of "$s")" = midd ] ;;
        esac || { echo "order $order: $s lost its data after deleting $state"; return 1; }
      done
      [ "$(states)" = "$(tr ' ' '\n' <<<"$left" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')" ]
    done
    [ "$(datasets)" = "tank
tank/states
tank/deleted" ] || [ "$(datasets)" = "tank
tank/states" ] || { echo "order $order left: $(datasets)"; return 1; }
  done
  run grep -E '^zfs (promote|destroy -R)' "$FAKE_ZFS_LOG"
  [ "$status" -eq 1 ]
}

@test "the fake zfs refuses what real ZFS refuses, so a wrong order fails the tests" {
  make_chain
  run "$FAKES/zfs" destroy -r tank/states/base
  [ "$status" -eq 1 ]
  [[ $output == *"filesystem has dependent clones"* ]]
  run "$FAKES/zfs" destroy tank/states/base
  [[ $output == *"filesystem has children"* ]]
  run "$FAKES/zfs" destroy tank/states/base@snap
  [[ $output == *"snapshot has dependent clones"* ]]
  run "$FAKES/zfs" destroy -R tank/states/base
  [ "$status" -eq 1 ]
  run "$FAKES/zfs" promote tank/states/mid
  [ "$status" -eq 1 ]
  run "$FAKES/zfs" rename tank/states/base@snap tank/states/mid@snap
  [ "$status" -eq 1 ]
  model_ok
}

@test "zfs gc keeps sanoid's and users' snapshots, destroys only vm-state's own unheld hidden ones" {
  zfs_create_state web "w"
  "$FAKES/zfs" snapshot tank/states/web@autosnap_2024-01-01_00:00:00_daily
  vm snapshot web keep 2>/dev/null
  "$FAKES/zfs" snapshot tank/states/web@_clone-gone-20240101000000
  : >"$FAKE_ZFS_LOG"
  run vm gc
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs destroy tank/states/web@_clone-gone-TIME" ]
  [ "$(datasets | grep -c '@autosnap_')" -eq 1 ]
  [ "$(datasets | grep -c '@keep')" -eq 1 ]
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

@test "zfs snapshot of a running slot is atomic: no pause, crash-consistent" {
  zfs_create_state web "w"
  vm assign slot1 web 2>/dev/null
  run --separate-stderr vm snapshot web hot --json
  [ "$status" -eq 0 ]
  [ "$(jq -r .consistency <<<"$output")" = crash-consistent ]
  [ ! -s "$FAKE_CH_REMOTE_LOG" ]
}

@test "zfs: a failed clone or receive leaves neither a state nor a helper snapshot" {
  zfs_create_state src "data"
  FAKE_ZFS_FAIL=receive run vm clone --independent src copy
  [ "$status" -eq 1 ]
  FAKE_ZFS_FAIL=clone run vm clone src copy
  [ "$status" -eq 1 ]
  [[ $output == *"vm-state: zfs clone tank/states/src@_clone-copy-"*"failed: fake zfs: clone failed (FAKE_ZFS_FAIL)"* ]]
  run "$FAKES/zfs" list -H -o name -t filesystem,snapshot -r tank/states
  [ "$output" = "tank/states
tank/states/src" ]
}

@test "zfs: leftovers of a killed run are destroyed by the next mutation and never listed" {
  zfs_create_state src "data"
  "$FAKES/zfs" create tank/states/_tmp-copy
  "$FAKES/zfs" snapshot tank/states/src@_vmstate-copy-123
  "$FAKES/zfs" snapshot tank/states/src@_clone-x-20240101000000
  run --separate-stderr vm list --json
  [ "$(jq -c '[.states[].name]' <<<"$output")" = '["src"]' ]
  run --separate-stderr vm snapshots src --json
  [ "$(jq -c '.snapshots' <<<"$output")" = '[]' ]
  : >"$FAKE_ZFS_LOG"
  run vm clone src copy
  [ "$status" -eq 0 ]
  [ "$(zfs_changes | head -3 | LC_ALL=C sort)" = "zfs destroy -r tank/states/_tmp-copy
zfs destroy tank/states/src@_clone-x-TIME
zfs destroy tank/states/src@_vmstate-copy-PID" ]
  [ "$(text_of copy)" = data ]
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

@test "zfs retention never prunes a safety snapshot that a restore depends on" {
  jq '.storage.safetySnapshots = {keep: 1, maxAgeDays: 30}' "$VM_STATE_CONFIG" >"$VM_STATE_CONFIG.new"
  mv "$VM_STATE_CONFIG.new" "$VM_STATE_CONFIG"
  zfs_create_state one "one"
  zfs_create_state two "two"
  vm assign slot1 one 2>/dev/null
  vm assign slot1 two 2>/dev/null
  local first
  first=$(vm snapshots one --json 2>/dev/null | jq -r '.snapshots[0].name')
  vm restore "one@$first" rescued 2>/dev/null
  vm assign slot1 one 2>/dev/null
  vm assign slot1 two 2>/dev/null
  run --separate-stderr vm snapshots one --json
  [ "$(jq -r '.snapshots[0].name' <<<"$output")" = "$first" ]
  [ "$(jq '.snapshots | length' <<<"$output")" -eq 2 ]
  model_ok
}

@test "zfs adopt copies a slot's own image into a new dataset, renamed last, then links the slot" {
  mkdir -p "$VM_STATE_ROOT/slot1"
  truncate -s 64M "$VM_STATE_ROOT/slot1/data.img"
  put_text "$VM_STATE_ROOT/slot1/data.img" 4096 "old layout"
  run vm adopt slot1 legacy
  [ "$status" -eq 0 ]
  [ "$(zfs_changes)" = "zfs create tank/states/_tmp-legacy
zfs rename tank/states/_tmp-legacy tank/states/legacy" ]
  [ "$(get_text "$(img legacy)" 4096 10)" = "old layout" ]
  [ "$(link_of slot1)" = "$(img legacy)" ]
}
