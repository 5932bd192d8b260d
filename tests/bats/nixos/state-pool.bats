#!/usr/bin/env bats
# nixos/scripts/state-pool-setup (the zfs backend's first-boot logic) against fake zpool, zfs,
# blkid and wipefs that record every call: a pool is imported when it exists, created only on a
# disk with no signature at all, and a disk holding anything else is never touched.
load helpers

SCRIPT="$NIXOS/scripts/state-pool-setup"

setup() {
  FAKE="$BATS_TEST_TMPDIR/fake"; BIN="$BATS_TEST_TMPDIR/bin"; LOG="$BATS_TEST_TMPDIR/calls"
  mkdir -p "$FAKE" "$BIN"; : >"$LOG"
  # State of the fake world: files under $FAKE say what exists.
  #   imported   - the pool is imported;   importable - `zpool import` finds it on the device
  #   blkid-rc   - blkid -p exit code (2 = nothing found);   wipefs - wipefs output
  #   dataset    - <pool>/states exists;   mounted - it is mounted
  echo 2 >"$FAKE/blkid-rc"; : >"$FAKE/wipefs"
  cat >"$BIN/zpool" <<FAKE
#!/usr/bin/env bash
echo "zpool \$*" >>"$LOG"
case "\$1" in
  list) [ -e "$FAKE/imported" ] ;;
  import) [ -e "$FAKE/importable" ] && touch "$FAKE/imported" ;;
  create) touch "$FAKE/imported" ;;
  *) exit 1 ;;
esac
FAKE
  cat >"$BIN/zfs" <<FAKE
#!/usr/bin/env bash
echo "zfs \$*" >>"$LOG"
case "\$1" in
  list) [ -e "$FAKE/dataset" ] ;;
  create) touch "$FAKE/dataset"; echo "\${3#mountpoint=}" >"$FAKE/mountpoint" ;;
  get) case "\$5" in
         mountpoint) cat "$FAKE/mountpoint" ;;
         mounted) [ -e "$FAKE/mounted" ] && echo yes || echo no ;;
       esac ;;
  set) echo "\${2#mountpoint=}" >"$FAKE/mountpoint" ;;
  mount) [ -e "$FAKE/dataset" ] && touch "$FAKE/mounted"; true ;;
esac
FAKE
  cat >"$BIN/blkid" <<FAKE
#!/usr/bin/env bash
echo "blkid \$*" >>"$LOG"
exit "\$(cat "$FAKE/blkid-rc")"
FAKE
  cat >"$BIN/wipefs" <<FAKE
#!/usr/bin/env bash
echo "wipefs \$*" >>"$LOG"
cat "$FAKE/wipefs"
FAKE
  chmod +x "$BIN"/*
  # The state volume: a block device node of our own (never opened: every tool that would read
  # it is a fake). Making one needs root, as CI is.
  DEVICE="$BATS_TEST_TMPDIR/nvme-Amazon_Elastic_Block_Store_vol0test"
  mknod "$DEVICE" b 7 250 2>/dev/null || DEVICE=""
  export PATH="$BIN:$PATH" STATE_POOL_DEVICE_TIMEOUT=0
}

run_setup() { run "$SCRIPT" microvms "${1:-$DEVICE}" /var/lib/microvms/states; }
# A block device node stands for the state volume; making one needs root.
need_device() {
  require_root
  [ -n "$DEVICE" ] || { echo "mknod failed as root" >&2; return 1; }
}

@test "an imported pool is left alone; its dataset is created and mounted" {
  touch "$FAKE/imported"
  run_setup /dev/disk/by-id/not-even-there
  [ "$status" -eq 0 ]
  run ! grep -q -e '^zpool import' -e '^zpool create' -e '^blkid' -e '^wipefs' "$LOG"
  grep -qx 'zfs create -o mountpoint=/var/lib/microvms/states microvms/states' "$LOG"
}

@test "a pool on the device is imported from that device only, never created" {
  need_device
  touch "$FAKE/importable" "$FAKE/dataset"; echo /var/lib/microvms/states >"$FAKE/mountpoint"
  run_setup
  [ "$status" -eq 0 ]
  grep -qx "zpool import -d $DEVICE -N microvms" "$LOG"
  run ! grep -q '^zpool create' "$LOG"
  run ! grep -q '^zfs create' "$LOG"
}

@test "a blank device gets the pool on first boot" {
  need_device
  run_setup
  [ "$status" -eq 0 ]
  grep -q "^zpool create .* microvms $DEVICE\$" "$LOG"
  grep -qx "blkid -p $DEVICE" "$LOG"
  grep -qx "wipefs --no-act --noheadings $DEVICE" "$LOG"
}

@test "a device with a filesystem (blkid finds a signature) is refused, exit 4, nothing created" {
  need_device
  echo 0 >"$FAKE/blkid-rc"
  run_setup
  [ "$status" -eq 4 ]
  run ! grep -q -e '^zpool create' -e '^zfs create' "$LOG"
}

@test "a signature only wipefs sees is refused too; so is a probe that could not tell" {
  need_device
  echo "0x0 gpt 45 46 49 20 50 41 52 54" >"$FAKE/wipefs"
  run_setup
  [ "$status" -eq 4 ]
  run ! grep -q '^zpool create' "$LOG"
  : >"$FAKE/wipefs"; echo 4 >"$FAKE/blkid-rc"; : >"$LOG"
  run_setup
  [ "$status" -eq 4 ]
  run ! grep -q '^zpool create' "$LOG"
}

@test "a device that never appears is an error naming it, and nothing is created" {
  run_setup /dev/disk/by-id/nvme-missing-volume
  [ "$status" -eq 1 ]
  [[ "$output" == *"/dev/disk/by-id/nvme-missing-volume"* ]]
  run ! grep -q -e '^zpool create' -e '^blkid' "$LOG"
}

@test "wrong arguments print the usage line and exit 2" {
  run "$SCRIPT" microvms
  [ "$status" -eq 2 ]
  [[ "$output" == "Usage: "* ]]
  run "$SCRIPT" microvms sdb /var/lib/microvms/states
  [ "$status" -eq 2 ]
  [[ "$output" == *'"sdb"'* ]]
  run "$SCRIPT" 'bad pool' /dev/sdb /var/lib/microvms/states
  [ "$status" -eq 2 ]
  [[ "$output" == *'"bad pool"'* ]]
}

@test "the script passes shellcheck" {
  require_tools shellcheck
  shellcheck "$SCRIPT"
}
