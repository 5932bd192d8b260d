#!/usr/bin/env bats
# Upgrading a host touches no data (issue 19): a root made by the bash vm-state the hosts ran,
# including a journal left by a change killed half-way, is read and finished by the TypeScript
# vm-state (scripts/vm-state). The bash vm-state is the one the hosts ran until the switch-over:
# main at BASH_VM_STATE_COMMIT, kept as tests/fixtures/vm-state-bash-1d668b7.tar.gz (made with
# `git archive 1d668b7 scripts/vm-state scripts/vm-state.d | gzip -9n`) so that a shallow clone
# tests the upgrade too.

load helpers

# main before the switch-over: scripts/vm-state and scripts/vm-state.d/*.bash were the bash vm-state.
BASH_VM_STATE_COMMIT=1d668b712043ae01b46f86a8a86aed5da892be52

setup_file() {
  local old=$BATS_FILE_TMPDIR/old
  mkdir -p "$old"
  tar -xzf "$REPO/tests/fixtures/vm-state-bash-${BASH_VM_STATE_COMMIT:0:7}.tar.gz" -C "$old"
  export OLD_VM_STATE=$old/scripts/vm-state
}

setup() {
  setup_vm_state
  # The bash vm-state really is the old one, not the launcher of the build.
  grep -q '^vm_state_main "\$@"$' "$OLD_VM_STATE"
  [ -f "${OLD_VM_STATE%/*}/vm-state.d/fleet.bash" ]
}

old() { "$OLD_VM_STATE" "$@"; }
journal() { printf '%s/.vm-state-journal.json' "$VM_STATE_ROOT"; }

# old_root: what a host has: states one, two, three made, cloned and snapshotted by the bash
# vm-state, with recognisable data; slot1 runs one, slot2 runs two. Checksums in $BATS_TEST_TMPDIR/sums.
old_root() {
  old create one --size-gib 1 2>/dev/null
  put_text "$(img one)" $((512 * MiB)) "data of one"
  old create two --size-gib 1 2>/dev/null
  put_text "$(img two)" $((512 * MiB)) "data of two"
  old snapshot one before-upgrade 2>/dev/null
  old clone one three 2>/dev/null
  put_text "$(img three)" $((512 * MiB)) "data of three"
  old apply - <<<'{"slots": {"slot1": "one", "slot2": "two"}}' 2>/dev/null
  running slot1
  running slot2
  [ "$(link_of slot1)" = "$(img one)" ]
  sums
}
sums() {
  local s
  for s in one two three; do printf '%s %s\n' "$s" "$(checksum "$(img "$s")")"; done >"$BATS_TEST_TMPDIR/sums"
}
data_intact() {
  local s
  while read -r s _; do
    [ "$(get_text "$(img "$s")" $((512 * MiB)) 11 | tr -d '\0')" = "$(printf 'data of %s' "$s" | head -c 11)" ] || { echo "$s: data changed" >&2; return 1; }
  done <"$BATS_TEST_TMPDIR/sums"
  [ "$(get_text "$VM_STATE_ROOT/states/one/.snapshots/before-upgrade.img" $((512 * MiB)) 11)" = "data of one" ]
}

@test "a root made by the bash vm-state, nothing in flight: the build lists it as the bash one did, and changes it" {
  old_root
  local before
  before=$(old list --json 2>/dev/null)
  run --separate-stderr vm list --json
  [ "$status" -eq 0 ]
  [ "$output" = "$before" ]
  [ "$(vm status --json 2>/dev/null)" = "$(old status --json 2>/dev/null)" ]
  [ "$(vm snapshots one --json 2>/dev/null | jq -c '[.snapshots[].name]')" = '["before-upgrade"]' ]
  data_intact
  run vm assign slot1 three
  [ "$status" -eq 0 ]
  [ "$(link_of slot1)" = "$(img three)" ]
  running slot1
  run vm restore one@before-upgrade five
  [ "$status" -eq 0 ]
  [ "$(get_text "$(img five)" $((512 * MiB)) 11)" = "data of one" ]
  [ ! -e "$(journal)" ]
}


@test "bash assign killed after stopping the slot: the build reports it, then finishes it (slot linked and started, data intact)" {
  old_root
  VM_STATE=$OLD_VM_STATE stop_at stopped assign slot1 three
  run ! running slot1
  [ "$(jq -c .stopped "$(journal)")" = '["slot1"]' ]
  [ "$(link_of slot1)" = "$(img one)" ]
  run vm status
  [ "$status" -eq 0 ]
  [[ $output == *"left slots stopped or paused"* ]]
  run ! running slot1
  run vm create four --size-gib 1
  [ "$status" -eq 0 ]
  [ "$(link_of slot1)" = "$(img three)" ]
  running slot1
  running slot2
  [ "$(link_of slot2)" = "$(img two)" ]
  [ ! -e "$(journal)" ]
  data_intact
}

@test "bash assign killed after the safety snapshot, after unlinking, after linking: each finished by the build" {
  local phase
  for phase in snapshotted unlinked linked; do
    rm -rf "$VM_STATE_ROOT" "$FAKE_SYSTEMCTL_DIR"
    mkdir -p "$FAKE_SYSTEMCTL_DIR"
    old_root
    VM_STATE=$OLD_VM_STATE stop_at "$phase" assign slot1 three
    [ -f "$(journal)" ] || { echo "$phase: no journal" >&2; return 1; }
    run ! running slot1
    run vm list
    [ "$status" -eq 0 ]
    run vm assign slot2 two
    [ "$status" -eq 0 ] || { echo "$phase: $output" >&2; return 1; }
    [ "$(link_of slot1)" = "$(img three)" ] || { echo "$phase: slot1 -> $(link_of slot1)" >&2; return 1; }
    running slot1
    running slot2
    [ ! -e "$(journal)" ]
    data_intact
  done
}

@test "bash apply of two slots killed after unlinking both: the build's apply finishes it and keeps the bash safety snapshots" {
  old_root
  old create four --size-gib 1 2>/dev/null
  VM_STATE=$OLD_VM_STATE stop_at unlinked apply - <<<'{"slots": {"slot1": "three", "slot2": "four"}}'
  [ ! -e "$VM_STATE_ROOT/slot1/data.img" ]
  [ ! -e "$VM_STATE_ROOT/slot2/data.img" ]
  local safety
  safety=$(ls "$VM_STATE_ROOT/states/one/.snapshots")
  [[ $safety == *before-upgrade* ]]
  run vm apply - <<<'{"slots": {"slot1": "three", "slot2": "four"}}'
  [ "$status" -eq 0 ]
  [ "$(link_of slot1)" = "$(img three)" ]
  [ "$(link_of slot2)" = "$(img four)" ]
  running slot1
  running slot2
  [ ! -e "$(journal)" ]
  # The safety snapshots the bash vm-state took before unlinking are states' snapshots to the build.
  run --separate-stderr vm snapshots one --json
  [ "$status" -eq 0 ]
  [ "$(jq '.snapshots | length' <<<"$output")" -ge 2 ]
  data_intact
}
