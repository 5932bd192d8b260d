#!/usr/bin/env bats
# nixos/scripts/guest-store-verify (the guest's boot-time `nix-store --verify`): exit 1 caused only
# by paths that left the store image while something built in the VM still uses them is success,
# reported; every other failure stays a failure. nix-store is a fake that prints what the real one
# prints in each case (the messages of nix's local-store.cc verifyPath and nix-store.cc opVerify).
# shellcheck disable=SC2154 # bats' run sets $stderr per test
load helpers

SCRIPT="$NIXOS/scripts/guest-store-verify"

# fake RC OUTPUT: a nix-store that prints OUTPUT on stderr and exits RC.
fake() {
  export NIX_STORE="$BATS_TEST_TMPDIR/nix-store"
  printf '#!/usr/bin/env bash\n[ "$*" = --verify ] || exit 99\nprintf %%s %q >&2\nexit %d\n' "$2" "$1" >"$NIX_STORE"
  chmod +x "$NIX_STORE"
}

@test "a clean store: success" {
  fake 0 $'reading the Nix store...\nchecking path existence...\n'
  run --separate-stderr "$SCRIPT"
  [ "$status" -eq 0 ]
}

@test "paths that left the image are dropped: success" {
  fake 0 $'checking path existence...\npath \'/nix/store/aaa-old\' disappeared, removing from database...\n'
  run --separate-stderr "$SCRIPT"
  [ "$status" -eq 0 ]
}

@test "a path that left the image but is still used by one built in the VM: success, reported" {
  fake 1 $'checking path existence...\npath \'/nix/store/aaa-old\' disappeared, but it still has valid referrers!\npath \'/nix/store/bbb-old\' disappeared, but it still has valid referrers!\nwarning: not all store errors were fixed\n'
  run --separate-stderr "$SCRIPT"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"guest-store-verify: 2 store path(s) left the store image but are still used by paths built or installed in this VM"* ]]
  [[ "$stderr" == *"/nix/store/aaa-old' disappeared"* ]]
}

@test "any other failure fails with nix-store's status" {
  fake 1 $'error: opening lock file \'/nix/var/nix/db/big-lock\': Read-only file system\n'
  run --separate-stderr "$SCRIPT"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"guest-store-verify: nix-store --verify failed (exit 1)"* ]]
  # A referrer line does not excuse an error next to it.
  fake 1 $'path \'/nix/store/aaa-old\' disappeared, but it still has valid referrers!\nerror: database disk image is malformed\n'
  run --separate-stderr "$SCRIPT"
  [ "$status" -eq 1 ]
  fake 1 $'warning: not all store errors were fixed\n'
  run --separate-stderr "$SCRIPT"
  [ "$status" -eq 1 ]
  fake 134 ''
  run --separate-stderr "$SCRIPT"
  [ "$status" -eq 134 ]
}

@test "guest.nix runs this script as the unit, not nix-store directly" {
  grep -q 'scripts/guest-store-verify' "$NIXOS/modules/guest.nix"
  run grep -n 'nix-store --verify"' "$NIXOS/modules/guest.nix"
  [ "$status" -eq 1 ]
}

@test "the script passes shellcheck" {
  require_tools shellcheck
  shellcheck "$SCRIPT"
}
