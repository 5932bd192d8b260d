#!/usr/bin/env bats
# vm-state under faults: kills at chosen phases, a full and a read-only disk, hostile files and
# links under its root. Each test failed before the fix it guards (issue 10, section 6).

load helpers

setup() {
  setup_vm_state
  make_state one "data of one"
  make_state two "data of two"
}
teardown() { unmount_all; }

journal() { printf '%s/.vm-state-journal.json' "$VM_STATE_ROOT"; }

# ---------------------------------------------------------------- names that are not states

@test "an entry that is not a state, last in states/ or .snapshots/, is skipped: list/status/snapshots/delete exit 0" {
  vm snapshot one v1 2>/dev/null
  mkdir "$VM_STATE_ROOT/states/zz-" "$VM_STATE_ROOT/states/zz_x"
  touch "$VM_STATE_ROOT/states/one/.snapshots/zz-.img" "$VM_STATE_ROOT/states/one/.snapshots/zz_x.img"
  run --separate-stderr vm list --json
  [ "$status" -eq 0 ]
  [ "$(jq -c '[.states[].name]' <<<"$output")" = '["one","two"]' ]
  run --separate-stderr vm status --json
  [ "$status" -eq 0 ]
  run --separate-stderr vm snapshots one --json
  [ "$status" -eq 0 ]
  [ "$(jq -c '[.snapshots[].name]' <<<"$output")" = '["v1"]' ]
  run vm delete --yes one
  [ "$status" -eq 0 ]
  [ ! -e "$VM_STATE_ROOT/states/one" ]
}

# vm-state is TypeScript; what remains in bash is the launcher and, until the fleet is ported,
# the fleet's bash parts in scripts/vm-state.d (the glob may come up empty then).
@test "no loop body in vm-state's remaining bash ends in 'cond && action' (exit status 1 under set -e)" {
  local f bad files=("$REPO/scripts/vm-state")
  [ "$(head -1 "$REPO/scripts/vm-state")" = "#!/usr/bin/env bash" ]
  shopt -s nullglob
  files+=("$REPO"/scripts/vm-state.d/*.bash)
  shopt -u nullglob
  for f in "${files[@]}"; do
    # the last command before 'done', or a one-line loop 'do ...; done'
    bad=$(awk '/^[[:space:]]*done\>/ && prev ~ /&&/ && prev !~ /\|\|/ {print FILENAME ":" NR-1 ": " prev}
               /do .*&&[^;]*; done/ {print FILENAME ":" NR ": " $0}
               NF {prev = $0}' "$f")
    [ -z "$bad" ] || { echo "$bad"; return 1; }
  done
}

# ---------------------------------------------------------------- a slot's disk that is no state

@test "a slot's data.img that is a file of its own is never deleted: assign/apply refuse (exit 4), nothing stops" {
  mkdir -p "$VM_STATE_ROOT/slot1"
  head -c 1048576 /dev/urandom >"$VM_STATE_ROOT/slot1/data.img"
  touch "$FAKE_SYSTEMCTL_DIR/microvm@slot1.service"
  local sum
  sum=$(checksum "$VM_STATE_ROOT/slot1/data.img")
  run vm assign slot1 one
  [ "$status" -eq 4 ]
  [[ $output == *"$VM_STATE_ROOT/slot1/data.img is a disk image of its own, not a link to a state; vm-state never replaces it: turn it into a state with 'vm-state adopt slot1 NAME', or move it away (nothing was stopped)"* ]]
  run vm apply - <<<'{"slots": {"slot1": "one"}}'
  [ "$status" -eq 4 ]
  [ "$(checksum "$VM_STATE_ROOT/slot1/data.img")" = "$sum" ]
  [ -z "$(systemctl_calls)" ]
  running slot1
}

@test "adopt turns a slot's own disk image into a state, links it and keeps the slot running" {
  mkdir -p "$VM_STATE_ROOT/slot1"
  truncate -s 64M "$VM_STATE_ROOT/slot1/data.img"
  put_text "$VM_STATE_ROOT/slot1/data.img" 4096 "old layout data"
  touch "$FAKE_SYSTEMCTL_DIR/microvm@slot1.service"
  local sum
  sum=$(checksum "$VM_STATE_ROOT/slot1/data.img")
  run vm adopt slot1 legacy
  [ "$status" -eq 0 ]
  [ "$(link_of slot1)" = "$(img legacy)" ]
  [ "$(checksum "$(img legacy)")" = "$sum" ]
  [ "$(systemctl_calls)" = "stop microvm@slot1.service
start microvm@slot1.service" ]
  running slot1
  run vm adopt slot1 again
  [ "$status" -eq 4 ]
  [[ $output == *"is already a link"* ]]
  run vm adopt slot2 two
  [ "$status" -eq 4 ]
  run --separate-stderr vm status --json
  [ "$(jq -r '.slots[0].state' <<<"$output")" = legacy ]
}

@test "a slot's data.img that is a directory is refused before anything stops" {
  mkdir -p "$VM_STATE_ROOT/slot1/data.img"
  touch "$FAKE_SYSTEMCTL_DIR/microvm@slot1.service"
  run vm assign slot1 one
  [ "$status" -eq 4 ]
  [[ $output == *"$VM_STATE_ROOT/slot1/data.img is a directory, not a link to a state"* ]]
  [ -z "$(systemctl_calls)" ]
  running slot1
}

# ---------------------------------------------------------------- slots left stopped

@test "an apply killed after stopping is finished by the next, unrelated command (assign), not forgotten" {
  vm apply - <<<'{"slots": {"slot1": "one"}}' 2>/dev/null
  make_state three
  stop_at unlinked apply - <<<'{"slots": {"slot1": "two", "slot3": "three"}}'
  run ! running slot1
  [ -f "$(journal)" ]
  systemctl_calls >/dev/null
  run vm assign slot2 one
  [ "$status" -eq 0 ]
  running slot1
  running slot2
  running slot3
  [ "$(link_of slot1)" = "$(img two)" ]
  [ "$(link_of slot3)" = "$(img three)" ]
  [ "$(link_of slot2)" = "$(img one)" ]
  [ ! -e "$(journal)" ]
}

@test "a killed apply's journal is merged, never replaced, by a second killed command" {
  vm apply - <<<'{"slots": {"slot1": "one", "slot2": "two"}}' 2>/dev/null
  make_state three
  stop_at stopped apply - <<<'{"slots": {"slot1": "three"}}'
  [ "$(jq -c .stopped "$(journal)")" = '["slot1"]' ]
  run ! running slot1
  # The next command finishes slot1 first, then is itself killed after stopping slot2.
  make_state four
  stop_at stopped assign slot2 four
  running slot1
  [ "$(link_of slot1)" = "$(img three)" ]
  [ "$(jq -c .stopped "$(journal)")" = '["slot2"]' ]
  run vm list
  [ "$status" -eq 0 ]
  run vm create five --size-gib 1
  [ "$status" -eq 0 ]
  running slot1
  running slot2
  [ "$(link_of slot2)" = "$(img four)" ]
  [ ! -e "$(journal)" ]
}

@test "read-only commands say that an interrupted command left slots stopped" {
  stop_at stopped assign slot1 one
  run vm status
  [ "$status" -eq 0 ]
  [[ $output == *"left slots stopped or paused"*"the next vm-state change finishes it"* ]]
}

@test "snapshot --stop killed mid-copy: the re-run starts the slot again (and takes the snapshot)" {
  vm assign slot1 one 2>/dev/null
  stop_at stopped snapshot one cold --stop
  run ! running slot1
  run vm snapshot one cold --stop
  [ "$status" -eq 0 ]
  running slot1
  [ -f "$VM_STATE_ROOT/states/one/.snapshots/cold.img" ]
  [ ! -e "$(journal)" ]
}

@test "a snapshot killed while the VM is paused: the next command resumes it" {
  vm assign slot1 one 2>/dev/null
  stop_at paused snapshot one hot
  [ -e "$FAKE_CH_REMOTE_DIR/slot1.paused" ]
  run vm create other --size-gib 1
  [ "$status" -eq 0 ]
  [ ! -e "$FAKE_CH_REMOTE_DIR/slot1.paused" ]
  [ ! -e "$(journal)" ]
  [ ! -e "$VM_STATE_ROOT/states/one/.snapshots/hot.img" ]
}

@test "a failure after the stop (here: the safety snapshot) starts the slot again on its old disk, and says so" {
  require_root
  vm assign slot1 one 2>/dev/null
  # A real failure of the safety snapshot: the state's snapshot directory is read-only.
  local snaps=$VM_STATE_ROOT/states/one/.snapshots
  mkdir -p "$snaps"
  mount --bind "$snaps" "$snaps"
  echo "$snaps" >>"$BATS_TEST_TMPDIR/mounts"
  mount -o remount,bind,ro "$snaps"
  systemctl_calls >/dev/null
  run vm assign slot1 two
  [ "$status" -eq 1 ]
  [[ $output == *"vm-state: copying state one failed: "*"Read-only file system"* ]]
  [[ $output == *"starting slot1 again on the disk it had, after the failure"* ]]
  [ "$(systemctl_calls)" = "stop microvm@slot1.service
start microvm@slot1.service" ]
  running slot1
  [ "$(link_of slot1)" = "$(img one)" ]
  [ ! -e "$(journal)" ]
}

@test "a full disk, for real: create, snapshot and assign fail with vm-state's message; the slot runs again" {
  [[ $TEST_BACKEND == files ]] || skip "reflink copies need no space for data; the files backend run covers a full disk"
  mount_fs ext4 160 "$BATS_TEST_TMPDIR/small"
  export VM_STATE_ROOT=$BATS_TEST_TMPDIR/small/root
  make_state web
  make_state db
  dd if=/dev/urandom of="$(img web)" bs=1M count=8 seek=100 conv=notrunc status=none
  vm assign slot1 web 2>/dev/null
  dd if=/dev/zero of="$BATS_TEST_TMPDIR/small/filler" bs=1M status=none 2>/dev/null || true
  dd if=/dev/zero of="$BATS_TEST_TMPDIR/small/filler2" bs=4k status=none 2>/dev/null || true
  systemctl_calls >/dev/null
  run vm create full --size-gib 1
  [ "$status" -eq 1 ]
  [[ ${lines[*]} == *"vm-state: "*"failed: "*"No space left on device"* ]]
  [ ! -e "$VM_STATE_ROOT/states/full" ]
  # Whether the last free block takes the journal (written before anything stops) or not, the
  # command fails with vm-state's message and the slot keeps running.
  run vm snapshot web v1 --stop
  [ "$status" -eq 1 ]
  [[ $output == *"vm-state: copying state web failed: "*"No space left on device"* ||
     $output == *"vm-state: cannot write the journal $(journal): "*"No space left on device"* ]]
  running slot1
  run vm assign slot1 db
  [ "$status" -eq 1 ]
  [[ $output == *"vm-state: copying state web failed: "*"No space left on device"* ||
     $output == *"vm-state: cannot write the journal $(journal): "*"No space left on device"* ]]
  running slot1
  [ "$(link_of slot1)" = "$(img web)" ]
  [ ! -e "$(journal)" ]
  [ -z "$(find "$VM_STATE_ROOT/states" -name '.tmp-*')" ]
  [ -z "$(find "$VM_STATE_ROOT" -maxdepth 1 -name '.vm-state-journal.*')" ]
}

@test "a full disk before anything stops: adopt cannot write its journal, says so, and the slot runs on" {
  [[ $TEST_BACKEND == files ]] || skip "the files backend run covers a full disk (adopt's first write is the journal on every backend)"
  mount_fs ext4 160 "$BATS_TEST_TMPDIR/small"
  export VM_STATE_ROOT=$BATS_TEST_TMPDIR/small/root
  mkdir -p "$VM_STATE_ROOT/slot1"
  truncate -s 64M "$VM_STATE_ROOT/slot1/data.img"
  put_text "$VM_STATE_ROOT/slot1/data.img" 4096 "old layout data"
  touch "$FAKE_SYSTEMCTL_DIR/microvm@slot1.service"
  mkdir -p "$VM_STATE_ROOT/states"
  dd if=/dev/zero of="$BATS_TEST_TMPDIR/small/filler" bs=1M status=none 2>/dev/null || true
  dd if=/dev/zero of="$BATS_TEST_TMPDIR/small/filler2" bs=1k status=none 2>/dev/null || true
  systemctl_calls >/dev/null
  run vm adopt slot1 legacy
  [ "$status" -eq 1 ]
  [[ $output == *"vm-state: cannot write the journal $(journal): "*"No space left on device"* ]]
  [ -z "$(systemctl_calls)" ]
  running slot1
  [ ! -L "$VM_STATE_ROOT/slot1/data.img" ]
  [ "$(get_text "$VM_STATE_ROOT/slot1/data.img" 4096 15)" = "old layout data" ]
  [ -z "$(find "$VM_STATE_ROOT" -maxdepth 1 -name '.vm-state-journal.*')" ]
}

# ---------------------------------------------------------------- links out of the root

@test "the journal's temporary file planted as a link: apply never writes through it" {
  echo precious >"$BATS_TEST_TMPDIR/outside"
  ln -s "$BATS_TEST_TMPDIR/outside" "$VM_STATE_ROOT/.vm-state-apply.json.tmp"
  ln -s "$BATS_TEST_TMPDIR/outside" "$VM_STATE_ROOT/.vm-state-journal.json.tmp"
  run vm apply - <<<'{"slots": {"slot1": "one"}}'
  [ "$status" -eq 0 ]
  [ "$(cat "$BATS_TEST_TMPDIR/outside")" = precious ]
}

@test "the journal itself as a link is refused, naming it" {
  echo '{}' >"$BATS_TEST_TMPDIR/outside.json"
  ln -s "$BATS_TEST_TMPDIR/outside.json" "$(journal)"
  run vm assign slot1 one
  [ "$status" -eq 4 ]
  [[ $output == *"refusing to run: $(journal) is a symbolic link"* ]]
  [ "$(cat "$BATS_TEST_TMPDIR/outside.json")" = '{}' ]
}

@test "a .snapshots link out of the root: snapshot, delete-snapshot and leftover clean-up refuse" {
  mkdir -p "$BATS_TEST_TMPDIR/outside"
  echo keep >"$BATS_TEST_TMPDIR/outside/v1.img"
  echo keep >"$BATS_TEST_TMPDIR/outside/.tmp-x.img"
  ln -s "$BATS_TEST_TMPDIR/outside" "$VM_STATE_ROOT/states/one/.snapshots"
  run vm snapshot one v2
  [ "$status" -eq 4 ]
  [[ $output == *"refusing to run: $VM_STATE_ROOT/states/one/.snapshots is a symbolic link"* ]]
  run vm delete-snapshot --yes one@v1
  [ "$status" -eq 4 ]
  run vm create other --size-gib 1
  [ "$status" -eq 4 ]
  [ "$(ls -A "$BATS_TEST_TMPDIR/outside")" = ".tmp-x.img
v1.img" ]
  run --separate-stderr vm snapshots one --json
  [ "$(jq -c .snapshots <<<"$output")" = '[]' ]
}

@test "a slot directory link out of the root: assign refuses and the outside data.img stays" {
  mkdir -p "$BATS_TEST_TMPDIR/outside"
  echo keep >"$BATS_TEST_TMPDIR/outside/data.img"
  ln -s "$BATS_TEST_TMPDIR/outside" "$VM_STATE_ROOT/slot1"
  run vm assign slot1 one
  [ "$status" -eq 4 ]
  [[ $output == *"refusing to run: $VM_STATE_ROOT/slot1 is a symbolic link"* ]]
  [ "$(cat "$BATS_TEST_TMPDIR/outside/data.img")" = keep ]
  [ -z "$(systemctl_calls)" ]
}

@test "a state directory link out of the root is not listed and not written into" {
  mkdir -p "$BATS_TEST_TMPDIR/outside"
  truncate -s 1M "$BATS_TEST_TMPDIR/outside/data.img"
  ln -s "$BATS_TEST_TMPDIR/outside" "$VM_STATE_ROOT/states/evil"
  run --separate-stderr vm list --json
  [ "$status" -eq 0 ]
  [ "$(jq -c '[.states[].name]' <<<"$output")" = '["one","two"]' ]
  run vm snapshot evil v1
  [ "$status" -eq 4 ]
  [ "$(ls -A "$BATS_TEST_TMPDIR/outside")" = data.img ]
}

@test "the lock file as a link, or a directory, is refused with a message" {
  ln -s "$BATS_TEST_TMPDIR/outside.lock" "$BATS_TEST_TMPDIR/lock"
  VM_STATE_LOCK=$BATS_TEST_TMPDIR/lock run vm create x --size-gib 1
  [ "$status" -eq 4 ]
  [[ $output == *"refusing to run: $BATS_TEST_TMPDIR/lock is a symbolic link"* ]]
  [ ! -e "$BATS_TEST_TMPDIR/outside.lock" ]
  mkdir "$BATS_TEST_TMPDIR/lockdir"
  VM_STATE_LOCK=$BATS_TEST_TMPDIR/lockdir run vm create x --size-gib 1
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "vm-state: the lock $BATS_TEST_TMPDIR/lockdir is a directory; remove it (vm-state creates the lock file itself)" ]
}

# ---------------------------------------------------------------- bad input, raw errors

@test "apply of empty input, of a directory, or of several JSON documents is a usage error (exit 2)" {
  run vm apply - </dev/null
  [ "$status" -eq 2 ]
  [[ $output == *"apply input is empty"* ]]
  run vm apply "$BATS_TEST_TMPDIR"
  [ "$status" -eq 2 ]
  [[ $output == *"'$BATS_TEST_TMPDIR' is a directory"* ]]
  run vm apply - <<<'{"slots": {"slot1": "one"}} {"slots": {"slot2": "two"}}'
  [ "$status" -eq 2 ]
  [[ $output == *"apply input holds several JSON documents"* ]]
  [ -z "$(systemctl_calls)" ]
  [ ! -e "$VM_STATE_ROOT/slot1/data.img" ]
}

@test "bad slot names in apply are reported as slot names, whatever they hold" {
  local key
  for key in 'Slot1' 'slot\t1' 'slot\n1' 'slot1\u0000'; do
    run vm apply - <<<"{\"slots\": {\"$key\": \"one\"}}"
    [ "$status" -eq 2 ] || { echo "$key: $status"; return 1; }
    [[ $output == *"invalid slot name"* ]] || { echo "$key: $output"; return 1; }
  done
  run vm apply - <<<'{"slots": {"slot1": "One"}}'
  [[ $output == *"invalid state name 'One'"* ]]
}

@test "a read-only root: a vm-state message, not a shell error" {
  require_root
  mkdir -p "$BATS_TEST_TMPDIR/ro"
  mount -t tmpfs -o size=64m tmpfs "$BATS_TEST_TMPDIR/ro"
  echo "$BATS_TEST_TMPDIR/ro" >>"$BATS_TEST_TMPDIR/mounts"
  export VM_STATE_ROOT=$BATS_TEST_TMPDIR/ro/root
  mkdir -p "$VM_STATE_ROOT/states"
  mount -o remount,ro "$BATS_TEST_TMPDIR/ro"
  run vm create x --size-gib 1
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "vm-state: cannot open the lock $VM_STATE_ROOT/.vm-state.lock: Read-only file system" ]
  export VM_STATE_ROOT=$BATS_TEST_TMPDIR/ro/other
  run vm create x --size-gib 1
  [ "$status" -eq 1 ]
  [[ ${lines[0]} == "vm-state: cannot create $VM_STATE_ROOT: "*"Read-only file system" ]]
}

@test "create over a leftover states/X holding only .snapshots: exit 4, the leftover kept" {
  mkdir -p "$VM_STATE_ROOT/states/old/.snapshots"
  echo snap >"$VM_STATE_ROOT/states/old/.snapshots/v1.img"
  run vm create old --size-gib 1
  [ "$status" -eq 4 ]
  [[ $output == *"$VM_STATE_ROOT/states/old exists but is not a state (no data.img; it holds .snapshots); move it away first"* ]]
  [ "$(cat "$VM_STATE_ROOT/states/old/.snapshots/v1.img")" = snap ]
  run vm clone one old
  [ "$status" -eq 4 ]
  mkdir "$VM_STATE_ROOT/states/empty"
  run vm create empty --size-gib 1
  [ "$status" -eq 0 ]
}

# ---------------------------------------------------------------- what the bash vm-state got wrong (issue 19)

@test "restore refuses a snapshot that is a link out of the root, and reads nothing through it" {
  echo "outside data" >"$BATS_TEST_TMPDIR/outside.img"
  mkdir -p "$VM_STATE_ROOT/states/one/.snapshots"
  ln -s "$BATS_TEST_TMPDIR/outside.img" "$VM_STATE_ROOT/states/one/.snapshots/v1.img"
  run vm restore one@v1 stolen
  [ "$status" -eq 4 ]
  [ ! -e "$VM_STATE_ROOT/states/stolen" ]
  run --separate-stderr vm snapshots one --json
  [ "$(jq -c .snapshots <<<"$output")" = '[]' ]
  [ "$(cat "$BATS_TEST_TMPDIR/outside.img")" = "outside data" ]
}

@test "a snapshot refuses a stray FIFO where it would go, and keeps it" {
  mkdir -p "$VM_STATE_ROOT/states/one/.snapshots"
  mkfifo "$VM_STATE_ROOT/states/one/.snapshots/v1.img"
  run vm snapshot one v1
  [ "$status" -eq 4 ]
  [[ $output == *"$VM_STATE_ROOT/states/one/.snapshots/v1.img exists and is not a snapshot; move it away first"* ]]
  [ -p "$VM_STATE_ROOT/states/one/.snapshots/v1.img" ]
}

@test "the journal's temporary file left by a killed write is removed by the next change" {
  echo '{"stopped":["slot1"]' >"$VM_STATE_ROOT/.vm-state-journal.Ab1Cd2"
  run vm create other --size-gib 1
  [ "$status" -eq 0 ]
  [ ! -e "$VM_STATE_ROOT/.vm-state-journal.Ab1Cd2" ]
  [ -z "$(systemctl_calls)" ]
}

@test "a slot that fails to start is reported and forgotten: no later change retries it or is blocked by it" {
  vm assign slot1 one 2>/dev/null
  FAKE_SYSTEMCTL_START_FAIL=microvm@slot2.service run vm assign slot2 two
  [ "$status" -eq 1 ]
  [[ $output == *"could not start microvm@slot2.service"* ]]
  [ ! -e "$(journal)" ]
  systemctl_calls >/dev/null
  run vm create other --size-gib 1
  [ "$status" -eq 0 ]
  [ -z "$(systemctl_calls)" ]
  # The change that fixes it goes through.
  make_state three
  run vm assign slot2 three
  [ "$status" -eq 0 ]
  running slot2
  [ "$(link_of slot2)" = "$(img three)" ]
}

@test "a change that fails before the links change is not carried out later by an unrelated command" {
  require_root
  vm assign slot2 one 2>/dev/null
  "$SYSTEMCTL_FAKE" stop microvm@slot2.service # the slot does not run
  local snaps=$VM_STATE_ROOT/states/one/.snapshots
  mkdir -p "$snaps"
  mount --bind "$snaps" "$snaps"
  echo "$snaps" >>"$BATS_TEST_TMPDIR/mounts"
  mount -o remount,bind,ro "$snaps"
  run vm assign slot2 two
  [ "$status" -eq 1 ]
  umount "$snaps"
  [ ! -e "$(journal)" ]
  systemctl_calls >/dev/null
  run vm create other --size-gib 1
  [ "$status" -eq 0 ]
  [ -z "$(systemctl_calls)" ]
  [ "$(link_of slot2)" = "$(img one)" ]
}

@test "a slot directory that cannot take a link refuses the change before anything stops, without a snapshot" {
  require_root
  vm assign slot1 one 2>/dev/null
  mount --bind "$VM_STATE_ROOT/slot1" "$VM_STATE_ROOT/slot1"
  echo "$VM_STATE_ROOT/slot1" >>"$BATS_TEST_TMPDIR/mounts"
  mount -o remount,bind,ro "$VM_STATE_ROOT/slot1"
  systemctl_calls >/dev/null
  local try
  for try in 1 2; do
    run vm assign slot1 two
    [ "$status" -eq 1 ]
    [[ $output == *"cannot link slot1: $VM_STATE_ROOT/slot1 is not writable: Read-only file system (nothing was stopped)"* ]]
  done
  [ -z "$(systemctl_calls)" ]
  running slot1
  [ "$(link_of slot1)" = "$(img one)" ]
  [ ! -e "$(journal)" ]
  [ -z "$(ls -A "$VM_STATE_ROOT/states/one/.snapshots" 2>/dev/null)" ]
}

@test "adopt killed after moving the disk, before linking it: the next change links the slot and starts it" {
  mkdir -p "$VM_STATE_ROOT/slot1"
  truncate -s 64M "$VM_STATE_ROOT/slot1/data.img"
  put_text "$VM_STATE_ROOT/slot1/data.img" 4096 "old layout data"
  touch "$FAKE_SYSTEMCTL_DIR/microvm@slot1.service"
  stop_at adopted adopt slot1 legacy
  run ! running slot1
  run vm create other --size-gib 1
  [ "$status" -eq 0 ]
  running slot1
  [ "$(link_of slot1)" = "$(img legacy)" ]
  [ "$(get_text "$VM_STATE_ROOT/slot1/data.img" 4096 15)" = "old layout data" ]
  [ ! -e "$(journal)" ]
}

@test "adopt killed before moving the disk: the next change starts the slot again on its own disk" {
  mkdir -p "$VM_STATE_ROOT/slot1"
  truncate -s 64M "$VM_STATE_ROOT/slot1/data.img"
  put_text "$VM_STATE_ROOT/slot1/data.img" 4096 "old layout data"
  touch "$FAKE_SYSTEMCTL_DIR/microvm@slot1.service"
  stop_at stopped adopt slot1 legacy
  run ! running slot1
  run vm create other --size-gib 1
  [ "$status" -eq 0 ]
  [[ $output == *"is a disk of its own: the journal's link of slot1 to legacy is dropped and slot1 keeps that disk"* ]]
  running slot1
  [ ! -L "$VM_STATE_ROOT/slot1/data.img" ]
  [ "$(get_text "$VM_STATE_ROOT/slot1/data.img" 4096 15)" = "old layout data" ]
  [ ! -e "$(journal)" ]
}

@test "status says when a move to another host holds a slot down" {
  mkdir -p "$VM_STATE_ROOT/.vm-state-fleet/out"
  echo '{"to": "big", "phase": "released", "slot": "slot1", "wasRunning": true}' >"$VM_STATE_ROOT/.vm-state-fleet/out/one.json"
  run --separate-stderr vm status
  [ "$status" -eq 0 ]
  [[ $stderr == *"warning: state one is being moved to big: slot1 is stopped and has no disk until the move finishes there or is cancelled here (vm-state fleet-cancel one)"* ]]
}
