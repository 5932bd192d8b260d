#!/usr/bin/env bats
# The lock around every mutation, and crash safety of an interrupted clone.

load helpers

setup() { setup_vm_state; }

wait_for() {
  local i
  for i in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $1"
  return 1
}

@test "a mutation exits 3 (busy) when another holds the lock, and changes nothing" {
  make_state web
  flock -o "$VM_STATE_ROOT/.vm-state.lock" sleep 30 &
  local holder=$!
  sleep 0.3
  VM_STATE_LOCK_WAIT=0 run vm clone web copy
  [ "$status" -eq 3 ]
  [[ $output == *"busy: another vm-state command holds $VM_STATE_ROOT/.vm-state.lock"* ]]
  VM_STATE_LOCK_WAIT=1 run vm delete --yes web
  [ "$status" -eq 3 ]
  kill "$holder"
  wait "$holder" || true
  [ ! -e "$VM_STATE_ROOT/states/copy" ]
  [ -f "$(img web)" ]
}

@test "VM_STATE_LOCK moves the lock file" {
  make_state web
  export VM_STATE_LOCK=$BATS_TEST_TMPDIR/other.lock
  flock -o "$VM_STATE_LOCK" sleep 30 &
  local holder=$!
  sleep 0.3
  VM_STATE_LOCK_WAIT=0 run vm snapshot web v1
  [ "$status" -eq 3 ]
  kill "$holder"
  wait "$holder" || true
  VM_STATE_LOCK_WAIT=0 run vm snapshot web v1
  [ "$status" -eq 0 ]
}

@test "read-only commands do not take the lock" {
  make_state web
  flock -o "$VM_STATE_ROOT/.vm-state.lock" sleep 30 &
  local holder=$!
  sleep 0.3
  VM_STATE_LOCK_WAIT=0 run --separate-stderr vm list --json
  kill "$holder"
  wait "$holder" || true
  [ "$status" -eq 0 ]
  [ "$(jq -r '.states[0].name' <<<"$output")" = web ]
}

@test "concurrent mutations: the second waits for the lock or exits 3; nothing is corrupted" {
  make_state src "source data"
  dd if=/dev/urandom of="$(img src)" bs=1M count=64 seek=200 conv=notrunc status=none
  local sum
  sum=$(checksum "$(img src)")
  vm clone src a 2>"$BATS_TEST_TMPDIR/a.err" &
  local pa=$!
  vm clone src b 2>"$BATS_TEST_TMPDIR/b.err" &
  local pb=$!
  VM_STATE_LOCK_WAIT=0 vm clone src c 2>"$BATS_TEST_TMPDIR/c.err" &
  local pc=$!
  local ra=0 rb=0 rc=0
  wait "$pa" || ra=$?
  wait "$pb" || rb=$?
  wait "$pc" || rc=$?
  [ "$ra" -eq 0 ]
  [ "$rb" -eq 0 ]
  [ "$(checksum "$(img a)")" = "$sum" ]
  [ "$(checksum "$(img b)")" = "$sum" ]
  [ "$(checksum "$(img src)")" = "$sum" ]
  if [ "$rc" -eq 0 ]; then
    [ "$(checksum "$(img c)")" = "$sum" ]
  else
    [ "$rc" -eq 3 ]
    [ ! -e "$VM_STATE_ROOT/states/c" ]
  fi
  [ -z "$(find "$VM_STATE_ROOT/states" -maxdepth 1 -name '.tmp-*')" ]
}

@test "a clone holding the lock makes a second mutation exit 3 with VM_STATE_LOCK_WAIT=0" {
  make_state src
  # Held with the copy made, not yet renamed into place: the clone holds the lock.
  hold_at image-copied clone src slow
  VM_STATE_LOCK_WAIT=0 run vm create other --size-gib 1
  kill -KILL -- "-$HELD_PID"
  wait "$HELD_PID" || true
  [ "$status" -eq 3 ]
  [ ! -e "$VM_STATE_ROOT/states/other" ]
}

@test "a clone killed midway (SIGKILL) leaves no state under the final name; the next run cleans up" {
  make_state src
  hold_at image-copied clone src copy
  [ -s "$VM_STATE_ROOT/states/.tmp-copy/data.img" ]
  kill -KILL -- "-$HELD_PID"
  wait "$HELD_PID" || true
  [ ! -e "$VM_STATE_ROOT/states/copy" ]
  run --separate-stderr vm list --json
  [ "$(jq -c '[.states[].name]' <<<"$output")" = '["src"]' ]
  run vm clone src copy
  [ "$status" -eq 0 ]
  [ "$(checksum "$(img copy)")" = "$(checksum "$(img src)")" ]
  [ ! -e "$VM_STATE_ROOT/states/.tmp-copy" ]
}

@test "a clone stopped with SIGTERM removes its half-made copy itself" {
  make_state src
  hold_at image-copied clone src copy
  kill -TERM "$HELD_PID"
  local rc=0
  wait "$HELD_PID" || rc=$?
  [ "$rc" -eq 143 ]
  [ ! -e "$VM_STATE_ROOT/states/copy" ]
  [ ! -e "$VM_STATE_ROOT/states/.tmp-copy" ]
}

@test "a create killed midway leaves no state under the final name" {
  mkdir -p "$BATS_TEST_TMPDIR/bin"
  printf '#!/usr/bin/env bash\ntouch %q\nexec sleep 60\n' "$BATS_TEST_TMPDIR/mkfs" >"$BATS_TEST_TMPDIR/bin/mkfs.ext4"
  chmod +x "$BATS_TEST_TMPDIR/bin/mkfs.ext4"
  PATH=$BATS_TEST_TMPDIR/bin:$PATH setsid "$VM_STATE" create web --size-gib 1 2>/dev/null &
  local pid=$!
  wait_for "$BATS_TEST_TMPDIR/mkfs"
  kill -KILL -- "-$pid"
  wait "$pid" || true
  [ ! -e "$VM_STATE_ROOT/states/web" ]
  run vm create --if-missing web --size-gib 1
  [ "$status" -eq 0 ]
  [ "$(e2label "$(img web)")" = vmstate ]
}
