#!/usr/bin/env bats
# States on the files backend, for real: create, clone, snapshot, restore, delete.

load helpers

setup() { setup_vm_state; }

@test "create makes a sparse ext4 image of the asked size with the label from infra.json" {
  run vm create web --size-gib 2
  [ "$status" -eq 0 ]
  [ "$(apparent "$(img web)")" -eq $((2048 * MiB)) ]
  [ "$(allocated "$(img web)")" -lt $((200 * MiB)) ]
  [ "$(e2label "$(img web)")" = vmstate ]
}

@test "create defaults to 64 GiB and still allocates little" {
  run vm create big
  [ "$status" -eq 0 ]
  [ "$(apparent "$(img big)")" -eq $((64 * 1024 * MiB)) ]
  [ "$(allocated "$(img big)")" -lt $((1024 * MiB)) ]
}

@test "create refuses an existing state (exit 4) unless --if-missing, and never overwrites it" {
  make_state web "precious"
  run vm create web --size-gib 1
  [ "$status" -eq 4 ]
  [[ $output == *"state 'web' already exists"* ]]
  run vm create --if-missing web --size-gib 1
  [ "$status" -eq 0 ]
  [ "$(get_text "$(img web)" $((512 * MiB)) 8)" = precious ]
}

@test "create refuses a bad size" {
  run vm create web --size-gib 0
  [ "$status" -eq 2 ]
  [[ $output == *"invalid --size-gib '0'"* ]]
  run vm create web --size-gib 1.5
  [ "$status" -eq 2 ]
  [ ! -e "$(img web)" ]
}

@test "clone copies byte for byte, stays sparse, and is independent of its source" {
  make_state src "source data"
  dd if=/dev/urandom of="$(img src)" bs=1M count=16 seek=100 conv=notrunc status=none
  run vm clone src copy
  [ "$status" -eq 0 ]
  [ "$(checksum "$(img copy)")" = "$(checksum "$(img src)")" ]
  [ "$(allocated "$(img copy)")" -le "$(allocated "$(img src)")" ]
  [ "$(allocated "$(img copy)")" -lt $((100 * MiB)) ]
  put_text "$(img copy)" $((512 * MiB)) "CHANGED...."
  [ "$(get_text "$(img src)" $((512 * MiB)) 11)" = "source data" ]
  local before
  before=$(checksum "$(img copy)")
  run vm delete --yes src
  [ "$status" -eq 0 ]
  [ ! -e "$VM_STATE_ROOT/states/src" ]
  [ "$(checksum "$(img copy)")" = "$before" ]
}

@test "clone of an unknown state is exit 4; onto an existing one is exit 4 unless --if-missing" {
  run vm clone nosuch copy
  [ "$status" -eq 4 ]
  [[ $output == *"unknown state 'nosuch'"* ]]
  make_state a "aaaa"
  make_state b "bbbb"
  run vm clone a b
  [ "$status" -eq 4 ]
  [[ $output == *"state 'b' already exists"* ]]
  run vm clone --if-missing a b
  [ "$status" -eq 0 ]
  [ "$(get_text "$(img b)" $((512 * MiB)) 4)" = bbbb ]
}

@test "clone --if-missing succeeds when the copy exists and its source is long gone" {
  make_state a
  vm clone a b 2>/dev/null
  vm delete --yes a 2>/dev/null
  run vm clone --if-missing a b
  [ "$status" -eq 0 ]
}

@test "snapshot and restore: the restored state holds the snapshot's bytes and outlives its source" {
  make_state web "version one"
  run vm snapshot web v1
  [ "$status" -eq 0 ]
  put_text "$(img web)" $((512 * MiB)) "version two"
  run vm restore web@v1 old
  [ "$status" -eq 0 ]
  [ "$(get_text "$(img old)" $((512 * MiB)) 11)" = "version one" ]
  [ "$(get_text "$(img web)" $((512 * MiB)) 11)" = "version two" ]
  [ "$(allocated "$(img old)")" -lt $((100 * MiB)) ]
  run vm delete --yes web
  [ "$status" -eq 0 ]
  [ ! -e "$VM_STATE_ROOT/states/web" ]
  [ "$(get_text "$(img old)" $((512 * MiB)) 11)" = "version one" ]
}

@test "snapshot refuses a duplicate (exit 4) unless --if-missing, and unknown states" {
  make_state web
  vm snapshot web v1 2>/dev/null
  run vm snapshot web v1
  [ "$status" -eq 4 ]
  [[ $output == *"snapshot 'web@v1' already exists"* ]]
  run vm snapshot --if-missing web v1
  [ "$status" -eq 0 ]
  run vm snapshot nosuch v1
  [ "$status" -eq 4 ]
  [[ $output == *"unknown state 'nosuch'"* ]]
}

@test "restore refuses unknown snapshots and existing targets" {
  make_state web
  run vm restore web@nosuch copy
  [ "$status" -eq 4 ]
  [[ $output == *"unknown snapshot 'web@nosuch' (see: vm-state snapshots web)"* ]]
  vm snapshot web v1 2>/dev/null
  make_state copy
  run vm restore web@v1 copy
  [ "$status" -eq 4 ]
  run vm restore --if-missing web@v1 copy
  [ "$status" -eq 0 ]
}

@test "snapshot of a running slot's state pauses it around the copy (crash-consistent); --stop stops and restarts it" {
  make_state web
  vm assign slot1 web 2>/dev/null
  systemctl_calls >/dev/null
  # Held where the copy is complete (not yet renamed into place): the VM is paused, not resumed.
  hold_at image-copied snapshot web hot --json
  [ "$(cat "$FAKE_CH_REMOTE_LOG")" = "pause slot1" ]
  [ -e "$FAKE_CH_REMOTE_DIR/slot1.paused" ]
  [ ! -e "$VM_STATE_ROOT/states/web/.snapshots/hot.img" ]
  release_held
  [ "$HELD_STATUS" -eq 0 ]
  [ "$(cat "$FAKE_CH_REMOTE_LOG")" = "pause slot1
resume slot1" ]
  [ -f "$VM_STATE_ROOT/states/web/.snapshots/hot.img" ]
  [ "$(jq -r .consistency "$BATS_TEST_TMPDIR/held.out")" = crash-consistent ]
  [[ $(cat "$BATS_TEST_TMPDIR/held.err") == *"snapshot web@hot taken: crash-consistent (slot1 was paused for "*" ms)"* ]]
  [ -z "$(systemctl_calls)" ]
  [ ! -e "$FAKE_CH_REMOTE_DIR/slot1.paused" ]
  run --separate-stderr vm snapshot web cold --stop --json
  [ "$status" -eq 0 ]
  [ "$(jq -r .consistency <<<"$output")" = application-consistent ]
  [ "$(systemctl_calls)" = "stop microvm@slot1.service
start microvm@slot1.service" ]
  running slot1
  run --separate-stderr vm snapshot web idle --json
  [ "$(jq -r .consistency <<<"$output")" = crash-consistent ]
  vm assign slot1 "$(vm create other --size-gib 1 2>/dev/null; echo other)" 2>/dev/null
  run --separate-stderr vm snapshot web idle2 --json
  [ "$(jq -r .consistency <<<"$output")" = consistent ]
}

@test "a snapshot that cannot pause the VM fails, takes nothing and leaves the VM running" {
  make_state web
  vm assign slot1 web 2>/dev/null
  FAKE_CH_REMOTE_FAIL=pause run vm snapshot web hot
  [ "$status" -eq 1 ]
  [[ $output == *"could not pause slot1 through $VM_STATE_ROOT/slot1/slot1.sock: "*"no snapshot taken (--stop takes one with the VM stopped)"* ]]
  [ ! -e "$VM_STATE_ROOT/states/web/.snapshots/hot.img" ]
  running slot1
  [ ! -e "$VM_STATE_ROOT/.vm-state-journal.json" ]
}

@test "snapshots lists a state's snapshots oldest first" {
  make_state web
  vm snapshot web first 2>/dev/null
  touch -d '2 minutes ago' "$VM_STATE_ROOT/states/web/.snapshots/first.img"
  vm snapshot web second 2>/dev/null
  run --separate-stderr vm snapshots web --json
  [ "$status" -eq 0 ]
  [ "$(jq -c '[.snapshots[].name]' <<<"$output")" = '["first","second"]' ]
  run vm snapshots nosuch
  [ "$status" -eq 4 ]
}

@test "delete without --yes and stdin not a terminal refuses and keeps the state" {
  make_state web
  run vm delete web </dev/null
  [ "$status" -eq 2 ]
  [[ $output == *"refusing to delete web without --yes (stdin is not a terminal)"* ]]
  [ -f "$(img web)" ]
}

@test "delete refuses a state a slot uses (exit 4)" {
  make_state web
  vm assign slot2 web 2>/dev/null
  run vm delete --yes web
  [ "$status" -eq 4 ]
  [[ $output == *"state 'web' is attached to slot slot2; assign another state to slot2 first"* ]]
  [ -f "$(img web)" ]
}

@test "delete of a missing state is exit 4, or success with --if-exists" {
  run vm delete --yes nosuch
  [ "$status" -eq 4 ]
  run vm delete --yes --if-exists nosuch
  [ "$status" -eq 0 ]
}

@test "delete-snapshot needs --yes, removes only that snapshot, and --if-exists makes it idempotent" {
  make_state web
  vm snapshot web v1 2>/dev/null
  vm snapshot web v2 2>/dev/null
  run vm delete-snapshot web@v1 </dev/null
  [ "$status" -eq 2 ]
  run vm delete-snapshot --yes web@v1
  [ "$status" -eq 0 ]
  run --separate-stderr vm snapshots web --json
  [ "$(jq -c '[.snapshots[].name]' <<<"$output")" = '["v2"]' ]
  run vm delete-snapshot --yes web@v1
  [ "$status" -eq 4 ]
  run vm delete-snapshot --yes --if-exists web@v1
  [ "$status" -eq 0 ]
}

@test "running the same declaration twice changes nothing and succeeds" {
  local declare=(
    "create --if-missing base --size-gib 1"
    "clone --if-missing base web"
    "snapshot --if-missing web v1"
    "restore --if-missing web@v1 old"
  )
  local step
  for step in "${declare[@]}"; do vm $step 2>/dev/null; done
  # The lock and the last-run records for `vm-state metrics` change with every run, by design.
  tree() { (cd "$VM_STATE_ROOT" && find . \( -path ./.vm-state.lock -o -path ./.vm-state-metrics \) -prune -o -printf '%p %s %T@\n' | sort); }
  local before
  before=$(tree)
  for step in "${declare[@]}"; do
    run vm $step
    [ "$status" -eq 0 ]
  done
  [ "$(tree)" = "$before" ]
}
