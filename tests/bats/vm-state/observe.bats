#!/usr/bin/env bats
# See what runs: a slot's journal and serial console (vm-state logs), and each slot's guest system
# generation and whether the running VM is the declared one (vm-state status), read from
# microvm.nix's links in a fake layout: <root>/<slot>/current and booted, each a runner whose
# share/microvm/system is the guest's NixOS system.

load helpers

setup() {
  setup_vm_state
  export VM_STATE_JOURNALCTL=$FAKES/journalctl FAKE_JOURNALCTL_LOG=$BATS_TEST_TMPDIR/journalctl.log
  : >"$FAKE_JOURNALCTL_LOG"
}

# runner NAME SYSTEM_HASH: a fake runner in the store whose guest system is /nix/store/HASH-...
runner() {
  local dir=$BATS_TEST_TMPDIR/store/$1-microvm-cloud-hypervisor
  mkdir -p "$dir/share/microvm"
  ln -sfn "/nix/store/$2-nixos-system-slot-26.05" "$dir/share/microvm/system"
  printf '%s' "$dir"
}
declare_runner() { mkdir -p "$VM_STATE_ROOT/$1" && ln -sfn "$2" "$VM_STATE_ROOT/$1/current"; }
boot_runner() { mkdir -p "$VM_STATE_ROOT/$1" && ln -sfn "$2" "$VM_STATE_ROOT/$1/booted"; }

@test "logs SLOT shows the slot's unit journal, which holds its serial console" {
  run vm logs slot2
  [ "$status" -eq 0 ]
  [ "$(cat "$FAKE_JOURNALCTL_LOG")" = "--unit microvm@slot2.service --no-pager --output short-iso --lines 100" ]
  [[ $output == *"microvm@slot2[42]: [    0.000000] Booting Linux"* ]]
  : >"$FAKE_JOURNALCTL_LOG"
  run vm logs slot2 -f --lines 20
  [ "$status" -eq 0 ]
  [ "$(cat "$FAKE_JOURNALCTL_LOG")" = "--unit microvm@slot2.service --no-pager --output short-iso --lines 20 --follow" ]
  : >"$FAKE_JOURNALCTL_LOG"
  run vm logs --follow --lines all slot1
  [ "$(cat "$FAKE_JOURNALCTL_LOG")" = "--unit microvm@slot1.service --no-pager --output short-iso --follow --no-tail" ]
}

@test "logs refuses an unknown slot, a bad name and a bad --lines, before running journalctl" {
  run vm logs slot9
  [ "$status" -eq 4 ]
  [[ $output == *"unknown slot 'slot9'"* ]]
  run vm logs ../slot1
  [ "$status" -eq 2 ]
  run vm logs slot1 --lines -3
  [ "$status" -eq 2 ]
  run vm logs slot1 --lines 'x; rm'
  [ "$status" -eq 2 ]
  [[ $output == *"invalid --lines 'x; rm'"* ]]
  run vm logs
  [ "$status" -eq 2 ]
  [[ $output == *"Usage: vm-state logs SLOT [-f] [--lines N]"* ]]
  [ ! -s "$FAKE_JOURNALCTL_LOG" ]
  VM_STATE_JOURNALCTL=/nonexistent/journalctl run vm logs slot1
  [ "$status" -eq 1 ]
  [[ $output == *"cannot run '/nonexistent/journalctl' (set VM_STATE_JOURNALCTL)"* ]]
}

@test "status shows each slot's system generation and whether the running VM is the declared one" {
  make_state web
  vm assign slot1 web 2>/dev/null
  vm assign slot2 slot2 2>/dev/null || { vm create slot2 --size-gib 1 2>/dev/null; vm assign slot2 slot2 2>/dev/null; }
  local old new
  old=$(runner old 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d)
  new=$(runner new 9f8e7d6c5b4a39281706f5e4d3c2b1a0)
  declare_runner slot1 "$new"; boot_runner slot1 "$new" # runs what is declared
  declare_runner slot2 "$new"; boot_runner slot2 "$old" # runs an older system
  declare_runner slot3 "$new"                             # declared, not running (no booted link)
  run --separate-stderr vm status
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "SLOT   STATE  RUNNING  SYSTEM" ]
  [ "${lines[1]}" = "slot1  web    running  9f8e7d6 (current)" ]
  [ "${lines[2]}" = "slot2  slot2  running  1a2b3c4 (outdated: restart to apply 9f8e7d6)" ]
  [ "${lines[3]}" = "slot3  -      stopped  9f8e7d6 (not running)" ]
  run --separate-stderr vm status --json
  [ "$(jq -c '.slots[0].system' <<<"$output")" = '{"declared":"/nix/store/9f8e7d6c5b4a39281706f5e4d3c2b1a0-nixos-system-slot-26.05","booted":"/nix/store/9f8e7d6c5b4a39281706f5e4d3c2b1a0-nixos-system-slot-26.05","upToDate":true}' ]
  [ "$(jq -c '.slots[1].system' <<<"$output")" = '{"declared":"/nix/store/9f8e7d6c5b4a39281706f5e4d3c2b1a0-nixos-system-slot-26.05","booted":"/nix/store/1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d-nixos-system-slot-26.05","upToDate":false}' ]
  [ "$(jq -c '.slots[2].system' <<<"$output")" = '{"declared":"/nix/store/9f8e7d6c5b4a39281706f5e4d3c2b1a0-nixos-system-slot-26.05","booted":null,"upToDate":null}' ]
}

@test "status: same system, new runner (other VM settings) is outdated too; no microvm.nix links is no system" {
  local a b
  a=$(runner a 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d)
  b=$(runner b 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d) # e.g. more memory: another runner, same guest system
  declare_runner slot1 "$b"; boot_runner slot1 "$a"
  run --separate-stderr vm status
  [ "${lines[1]}" = "slot1  -      stopped  1a2b3c4 (outdated: restart to apply its new VM settings)" ]
  [ "${lines[2]}" = "slot2  -      stopped  -" ]
  run --separate-stderr vm status --json
  [ "$(jq -c '[.slots[].system.upToDate]' <<<"$output")" = '[false,null,null]' ]
  [ "$(jq -c '.slots[1].system' <<<"$output")" = null ]
}
