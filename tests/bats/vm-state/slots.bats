#!/usr/bin/env bats
# Slots on the files backend, for real: assign, migrate, apply (no-op, single change, swap,
# interrupted and re-run), with a recording fake systemctl.

load helpers

setup() {
  setup_vm_state
  make_state one "data of one"
  make_state two "data of two"
  make_state three "data of three"
}

# apply_json JSON: runs `vm-state apply -` with JSON on stdin.
apply_json() { vm apply - <<<"$1"; }
states_img() { printf '%s/states/%s/data.img' "$VM_STATE_ROOT" "$1"; }
# Every state is linked from at most one slot.
no_double_attach() {
  local links
  links=$(for s in "$VM_STATE_ROOT"/*/data.img; do readlink "$s"; done | sort)
  [ "$(uniq -d <<<"$links")" = "" ]
}

@test "assign links the slot to the state atomically, starts it and checks it came up" {
  run vm assign slot1 one
  [ "$status" -eq 0 ]
  [ "$(link_of slot1)" = "$(states_img one)" ]
  [ "$(systemctl_calls)" = "stop microvm@slot1.service
start microvm@slot1.service" ]
  running slot1
  [ "$(get_text "$VM_STATE_ROOT/slot1/data.img" $((512 * MiB)) 11)" = "data of one" ]
}

@test "migrate moves a slot to another state; data survives byte for byte; the old state gets a safety snapshot" {
  vm assign slot1 one 2>/dev/null
  local sum_one sum_two
  sum_one=$(checksum "$(img one)")
  sum_two=$(checksum "$(img two)")
  systemctl_calls >/dev/null
  run vm migrate two slot1
  [ "$status" -eq 0 ]
  [ "$(link_of slot1)" = "$(states_img two)" ]
  [ "$(checksum "$VM_STATE_ROOT/slot1/data.img")" = "$sum_two" ]
  [ "$(checksum "$(img one)")" = "$sum_one" ]
  [ "$(systemctl_calls)" = "stop microvm@slot1.service
start microvm@slot1.service" ]
  run --separate-stderr vm snapshots one --json
  [[ $(jq -r '.snapshots[0].name' <<<"$output") == pre-assign-2* ]]
  local snap
  snap=$(jq -r '.snapshots[0].name' <<<"$output")
  [ "$(checksum "$VM_STATE_ROOT/states/one/.snapshots/$snap.img")" = "$sum_one" ]
  # back again: the data is the same as before the round trip
  run vm assign slot1 one
  [ "$status" -eq 0 ]
  [ "$(checksum "$VM_STATE_ROOT/slot1/data.img")" = "$sum_one" ]
}

@test "assign refuses a state attached to another slot (exit 4) and changes nothing" {
  vm assign slot1 one 2>/dev/null
  systemctl_calls >/dev/null
  run vm assign slot2 one
  [ "$status" -eq 4 ]
  [[ $output == *"state one is attached to slot1; a state runs on one slot at most"* ]]
  [ ! -e "$VM_STATE_ROOT/slot2/data.img" ]
  [ -z "$(systemctl_calls)" ]
}

@test "assign of the state a slot already has is a no-op" {
  vm assign slot1 one 2>/dev/null
  systemctl_calls >/dev/null
  run vm assign slot1 one
  [ "$status" -eq 0 ]
  [[ $output == *"nothing to change"* ]]
  [ -z "$(systemctl_calls)" ]
}

@test "assign to an unknown slot or of an unknown state is exit 4" {
  run vm assign slot9 one
  [ "$status" -eq 4 ]
  [[ $output == *"unknown slot 'slot9'"* ]]
  run vm assign slot1 nosuch
  [ "$status" -eq 4 ]
  [[ $output == *"unknown state 'nosuch'"* ]]
  [ -z "$(systemctl_calls)" ]
}

@test "a slot that does not come up fails with exit 1 naming it" {
  export FAKE_SYSTEMCTL_DEAD=microvm@slot2.service VM_STATE_START_TIMEOUT=1
  run vm assign slot2 two
  [ "$status" -eq 1 ]
  [[ $output == *"did not come up within 1s: slot2 (see: journalctl -u microvm@slot2.service)"* ]]
}

@test "apply with nothing different is a no-op: no stop, no start, no snapshot" {
  apply_json '{"slots": {"slot1": "one", "slot2": "two"}}' 2>/dev/null
  systemctl_calls >/dev/null
  run apply_json '{"slots": {"slot1": "one", "slot2": "two"}}'
  [ "$status" -eq 0 ]
  [[ $output == *"nothing to change"* ]]
  [ -z "$(systemctl_calls)" ]
  [ -z "$(ls "$VM_STATE_ROOT/states/one/.snapshots" 2>/dev/null)" ]
}

@test "apply changes only the slot that differs, and leaves slots not in the map alone" {
  apply_json '{"slots": {"slot1": "one", "slot2": "two"}}' 2>/dev/null
  systemctl_calls >/dev/null
  run apply_json '{"slots": {"slot1": "one", "slot2": "three"}}'
  [ "$status" -eq 0 ]
  [ "$(systemctl_calls)" = "stop microvm@slot2.service
start microvm@slot2.service" ]
  [ "$(link_of slot1)" = "$(states_img one)" ]
  [ "$(link_of slot2)" = "$(states_img three)" ]
  run apply_json '{"slots": {"slot3": "two"}}'
  [ "$status" -eq 0 ]
  [ "$(link_of slot2)" = "$(states_img three)" ]
  [ "$(link_of slot3)" = "$(states_img two)" ]
}

@test "apply swaps two slots: each stopped once, data byte for byte, never a state on two slots" {
  apply_json '{"slots": {"slot1": "one", "slot3": "three"}}' 2>/dev/null
  local sum_one sum_three
  sum_one=$(checksum "$(img one)")
  sum_three=$(checksum "$(img three)")
  systemctl_calls >/dev/null
  run apply_json '{"slots": {"slot1": "three", "slot3": "one"}}'
  [ "$status" -eq 0 ]
  [ "$(checksum "$VM_STATE_ROOT/slot1/data.img")" = "$sum_three" ]
  [ "$(checksum "$VM_STATE_ROOT/slot3/data.img")" = "$sum_one" ]
  [ "$(systemctl_calls | sort)" = "start microvm@slot1.service
start microvm@slot3.service
stop microvm@slot1.service
stop microvm@slot3.service" ]
  no_double_attach
  running slot1
  running slot3
}

@test "apply reads a file as well as stdin" {
  echo '{"slots": {"slot2": "two"}}' >"$BATS_TEST_TMPDIR/want.json"
  run vm apply "$BATS_TEST_TMPDIR/want.json"
  [ "$status" -eq 0 ]
  [ "$(link_of slot2)" = "$(states_img two)" ]
}

@test "apply refuses unknown slots and states (exit 4) before changing anything" {
  apply_json '{"slots": {"slot1": "one"}}' 2>/dev/null
  systemctl_calls >/dev/null
  run apply_json '{"slots": {"slot1": "two", "slot9": "three"}}'
  [ "$status" -eq 4 ]
  [[ $output == *"unknown slot 'slot9'"* ]]
  run apply_json '{"slots": {"slot1": "two", "slot2": "nosuch"}}'
  [ "$status" -eq 4 ]
  [[ $output == *"unknown state 'nosuch'"* ]]
  [ -z "$(systemctl_calls)" ]
  [ "$(link_of slot1)" = "$(states_img one)" ]
}

@test "apply refuses one state on two slots, inside the map or with a slot outside it" {
  run apply_json '{"slots": {"slot1": "one", "slot2": "one"}}'
  [ "$status" -eq 4 ]
  [[ $output == *"state one is requested for both slot1 and slot2"* ]]
  apply_json '{"slots": {"slot1": "one"}}' 2>/dev/null
  run apply_json '{"slots": {"slot2": "one"}}'
  [ "$status" -eq 4 ]
  [[ $output == *"state one is attached to slot1; it cannot also run on slot2"* ]]
  [ ! -e "$VM_STATE_ROOT/slot2/data.img" ]
}

@test "apply refuses input that is not a slot map (exit 2)" {
  local bad
  for bad in 'not json' '{}' '{"slots": ["slot1"]}' '{"slots": {"slot1": 3}}'; do
    run apply_json "$bad"
    [ "$status" -eq 2 ] || { echo "input $bad gave $status"; return 1; }
    [[ $output == *'apply input must be JSON like {"slots": {"slot1": "web"}}'* ]]
  done
  run apply_json '{"slots": {"../x": "one"}}'
  [ "$status" -eq 2 ]
}

@test "an apply killed while starting slots is completed by running it again" {
  apply_json '{"slots": {"slot1": "one", "slot3": "three"}}' 2>/dev/null
  export FAKE_SYSTEMCTL_HANG=microvm@slot3.service
  setsid "$VM_STATE" apply - <<<'{"slots": {"slot1": "three", "slot3": "one"}}' 2>/dev/null &
  local pid=$! i
  for i in $(seq 100); do [ -e "$FAKE_SYSTEMCTL_DIR/hanging" ] && break; sleep 0.1; done
  [ -e "$FAKE_SYSTEMCTL_DIR/hanging" ]
  kill -KILL -- "-$pid"
  wait "$pid" || true
  run ! running slot3
  no_double_attach
  unset FAKE_SYSTEMCTL_HANG
  systemctl_calls >/dev/null
  run apply_json '{"slots": {"slot1": "three", "slot3": "one"}}'
  [ "$status" -eq 0 ]
  [[ $(systemctl_calls) == *"start microvm@slot3.service"* ]]
  running slot1
  running slot3
  [ "$(link_of slot1)" = "$(states_img three)" ]
  [ "$(link_of slot3)" = "$(states_img one)" ]
  [ ! -e "$VM_STATE_ROOT/.vm-state-apply.json" ]
  run apply_json '{"slots": {"slot1": "three", "slot3": "one"}}'
  [[ $output == *"nothing to change"* ]]
  [ -z "$(systemctl_calls)" ]
}

@test "an apply killed during its safety snapshots is completed by running it again" {
  apply_json '{"slots": {"slot1": "one", "slot3": "three"}}' 2>/dev/null
  # Killed with the first safety snapshot's copy made and not yet renamed into place.
  stop_at image-copied apply - <<<'{"slots": {"slot1": "three", "slot3": "one"}}'
  [ -z "$(find "$VM_STATE_ROOT/states" -name 'pre-*')" ]
  no_double_attach
  run apply_json '{"slots": {"slot1": "three", "slot3": "one"}}'
  [ "$status" -eq 0 ]
  [ "$(link_of slot1)" = "$(states_img three)" ]
  [ "$(link_of slot3)" = "$(states_img one)" ]
  running slot1
  running slot3
  [ -z "$(find "$VM_STATE_ROOT/states" -name '.tmp-*')" ]
}

# set_retention KEEP DAYS: .storage.safetySnapshots in infra.json.
set_retention() {
  jq --argjson keep "$1" --argjson days "$2" '.storage.safetySnapshots = {keep: $keep, maxAgeDays: $days}' \
    "$VM_STATE_CONFIG" >"$VM_STATE_CONFIG.new"
  mv "$VM_STATE_CONFIG.new" "$VM_STATE_CONFIG"
}
snaps_of() { vm snapshots "$1" --json 2>/dev/null | jq -r '[.snapshots[].name] | join(" ")'; }
safety_count() { vm snapshots "$1" --json 2>/dev/null | jq '[.snapshots[].name | select(startswith("pre-"))] | length'; }

@test "safety snapshots: the newest 'keep' per state are kept, pruned after each successful switch; users' snapshots never" {
  set_retention 2 30
  vm snapshot one mine 2>/dev/null
  local i
  for i in 1 2 3 4; do
    vm assign slot1 one 2>/dev/null
    vm assign slot1 two 2>/dev/null
  done
  [ "$(safety_count one)" -eq 2 ]
  [ "$(safety_count two)" -eq 2 ]
  [[ " $(snaps_of one) " == *" mine "* ]]
}

@test "safety snapshots older than maxAgeDays are pruned, except the newest one of a state" {
  set_retention 5 30
  vm assign slot1 one 2>/dev/null
  vm assign slot1 two 2>/dev/null
  vm assign slot1 one 2>/dev/null
  vm assign slot1 two 2>/dev/null
  [ "$(safety_count one)" -eq 2 ]
  touch -d '40 days ago' "$VM_STATE_ROOT"/states/one/.snapshots/pre-*.img
  touch -d '40 days ago' "$VM_STATE_ROOT"/states/two/.snapshots/pre-*.img
  vm assign slot2 three 2>/dev/null
  [ "$(safety_count one)" -eq 1 ]
  [ "$(safety_count two)" -eq 1 ]
}

@test "without .storage.safetySnapshots the default keeps 5; a bad value is refused naming the key" {
  local i
  for i in 1 2 3 4 5 6 7; do
    vm assign slot1 one 2>/dev/null
    vm assign slot1 two 2>/dev/null
  done
  [ "$(safety_count one)" -eq 5 ]
  set_retention 0 30
  run vm assign slot1 one
  [ "$status" -eq 1 ]
  [[ $output == *".storage.safetySnapshots.keep must be a whole number from 1, got '0'"* ]]
}

@test "recovery's pre-recover safety snapshots are pruned like the other safety snapshots" {
  set_retention 1 30
  vm snapshot one pre-recover-20240101-000000 2>/dev/null
  vm snapshot one pre-recover-20240102-000000 2>/dev/null
  touch -d '2 minutes ago' "$VM_STATE_ROOT"/states/one/.snapshots/pre-recover-*.img
  vm assign slot1 one 2>/dev/null
  vm assign slot1 two 2>/dev/null
  [ "$(safety_count one)" -eq 1 ]
  [[ $(snaps_of one) == pre-assign-* ]]
}

@test "apply says when it switches back a slot that was set by hand since the last apply" {
  apply_json '{"slots": {"slot1": "one", "slot2": "two"}}' 2>/dev/null
  vm migrate three slot1 2>/dev/null
  run --separate-stderr apply_json '{"slots": {"slot1": "one", "slot2": "two"}}'
  [ "$status" -eq 0 ]
  [[ $stderr == *"vm-state: apply: slot1 ran three, set by hand; the map says one: switching it back"* ]]
  [ "$(link_of slot1)" = "$(states_img one)" ]
  # A change of the map is no hand change.
  run --separate-stderr apply_json '{"slots": {"slot1": "three", "slot2": "two"}}'
  [ "$status" -eq 0 ]
  [[ $stderr != *"set by hand"* ]]
}

@test "apply refuses a byte order mark, unknown keys and oversized input (exit 2), before anything changes" {
  run vm apply - < <(printf '\xef\xbb\xbf{"slots": {"slot1": "one"}}')
  [ "$status" -eq 2 ]
  [[ $output == *"apply input starts with a byte order mark"* ]]
  run apply_json '{"slots": {"slot1": "one"}, "slot": {"slot2": "two"}}'
  [ "$status" -eq 2 ]
  [[ $output == *"apply input must be JSON like"*"unknown key 'slot'"* ]]
  run timeout 60 "$VM_STATE" apply - < <(head -c $((30 * MiB)) /dev/zero | tr '\0' ' '; echo '{"slots": {"slot1": "one"}}')
  [ "$status" -eq 2 ]
  [[ $output == *"apply input is larger than 1048576 bytes"* ]]
  [ -z "$(systemctl_calls)" ]
  [ ! -e "$VM_STATE_ROOT/slot1/data.img" ]
}

@test "apply reads a map behind 1 MB of whitespace in linear time" {
  # The bash version took about 65 s here (quadratic); the bound is generous for a busy machine.
  run timeout 60 "$VM_STATE" apply - < <(head -c 1000000 /dev/zero | tr '\0' ' '; echo '{"slots": {"slot1": "one"}}')
  [ "$status" -eq 0 ]
  [ "$(link_of slot1)" = "$(states_img one)" ]
}
