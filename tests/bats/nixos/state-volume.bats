#!/usr/bin/env bats
# nixos/scripts/state-volume-setup (the xfs backend's first-boot logic): a disk holding XFS is
# mounted, a disk with no signature at all is formatted XFS with reflinks and mounted, a disk
# holding anything else is never touched; something else mounted at the states directory is
# refused. First against recording fakes (every decision and the exact commands), then for real
# on loop devices: real blkid, wipefs, mkfs.xfs, mount.
load helpers

SCRIPT="$NIXOS/scripts/state-volume-setup"

# --- against fakes -------------------------------------------------------------------------------

# fake_world: fakes first on PATH; files under $FAKE say what exists:
#   mounted      "SOURCE FSTYPE" of what is mounted at the mount point (absent: nothing)
#   blkid-type   the TYPE blkid -p reads (absent: none);   blkid-rc  blkid -p's exit code
#   wipefs       wipefs' output;   reflink  xfs_info says reflink=1
#   dev-bytes    the device's size (blockdev);   fs-bytes  the filesystem's (df; xfs_growfs makes it
#                dev-bytes);   growfs-fails  xfs_growfs fails
fake_world() {
  FAKE="$BATS_TEST_TMPDIR/fake" BIN="$BATS_TEST_TMPDIR/bin" LOG="$BATS_TEST_TMPDIR/calls"
  MNT="$BATS_TEST_TMPDIR/states"
  mkdir -p "$FAKE" "$BIN"
  : >"$LOG"
  echo 2 >"$FAKE/blkid-rc"
  : >"$FAKE/wipefs"
  touch "$FAKE/reflink"
  cat >"$BIN/mountpoint" <<FAKE
#!/usr/bin/env bash
echo "mountpoint \$*" >>"$LOG"
[ -e "$FAKE/mounted" ]
FAKE
  cat >"$BIN/findmnt" <<FAKE
#!/usr/bin/env bash
echo "findmnt \$*" >>"$LOG"
read -r source fstype <"$FAKE/mounted"
case "\$3" in SOURCE) echo "\$source" ;; FSTYPE) echo "\$fstype" ;; esac
FAKE
  cat >"$BIN/blkid" <<FAKE
#!/usr/bin/env bash
echo "blkid \$*" >>"$LOG"
if [ "\$*" = "-p -o value -s TYPE \${*: -1}" ]; then
  [ -e "$FAKE/blkid-type" ] && { cat "$FAKE/blkid-type"; exit 0; }
  exit 2
fi
exit "\$(cat "$FAKE/blkid-rc")"
FAKE
  cat >"$BIN/wipefs" <<FAKE
#!/usr/bin/env bash
echo "wipefs \$*" >>"$LOG"
cat "$FAKE/wipefs"
FAKE
  cat >"$BIN/mkfs.xfs" <<FAKE
#!/usr/bin/env bash
echo "mkfs.xfs \$*" >>"$LOG"
echo xfs >"$FAKE/blkid-type"
FAKE
  cat >"$BIN/mount" <<FAKE
#!/usr/bin/env bash
echo "mount \$*" >>"$LOG"
echo "\${*: -2:1} xfs" >"$FAKE/mounted"
FAKE
  cat >"$BIN/xfs_info" <<FAKE
#!/usr/bin/env bash
echo "xfs_info \$*" >>"$LOG"
if [ -e "$FAKE/reflink" ]; then echo "         =    reflink=1 bigtime=1"; else echo "         =    reflink=0"; fi
# xfs-info-more: more output after the line (a reader that stops at reflink=1 cuts it: SIGPIPE).
if [ -e "$FAKE/xfs-info-more" ]; then
  for _ in \$(seq 20000); do echo "log      =internal log           bsize=4096   blocks=16384, version=2"; done
fi
FAKE
  echo $((256 * 1024 * 1024 * 1024)) >"$FAKE/dev-bytes"
  cp "$FAKE/dev-bytes" "$FAKE/fs-bytes"
  cat >"$BIN/blockdev" <<FAKE
#!/usr/bin/env bash
echo "blockdev \$*" >>"$LOG"
cat "$FAKE/dev-bytes"
FAKE
  cat >"$BIN/df" <<FAKE
#!/usr/bin/env bash
echo "df \$*" >>"$LOG"
echo "     1B-blocks"
cat "$FAKE/fs-bytes"
FAKE
  cat >"$BIN/xfs_growfs" <<FAKE
#!/usr/bin/env bash
echo "xfs_growfs \$*" >>"$LOG"
[ ! -e "$FAKE/growfs-fails" ] || { echo "xfs_growfs: XFS_IOC_FSGROWFSDATA xfsctl failed: Input/output error" >&2; exit 1; }
echo "data blocks changed"
cp "$FAKE/dev-bytes" "$FAKE/fs-bytes"
FAKE
  chmod +x "$BIN"/*
  # The state volume: a block device node of our own (never opened: every tool that would read
  # it is a fake). Making one needs root, as CI is.
  DEVICE="$BATS_TEST_TMPDIR/nvme-Amazon_Elastic_Block_Store_vol0test"
  mknod "$DEVICE" b 7 251 2>/dev/null || DEVICE=""
  export PATH="$BIN:$PATH" STATE_VOLUME_DEVICE_TIMEOUT=0 STATE_VOLUME_GROW_TIMEOUT=0
}
need_device() {
  require_root
  [ -n "$DEVICE" ] || { echo "mknod failed as root" >&2; return 1; }
}
run_setup() { run "$SCRIPT" "${1:-$DEVICE}" "$MNT" "${@:2}"; }
# Nothing that writes to a disk ran.
untouched() { run ! grep -q -e '^mkfs' -e '^mount ' "$LOG"; }

@test "fakes: an XFS volume is mounted at the states directory, never formatted" {
  fake_world
  need_device
  echo xfs >"$FAKE/blkid-type"
  run_setup
  [ "$status" -eq 0 ]
  grep -qx "mount -t xfs -o noatime $DEVICE $MNT" "$LOG"
  run ! grep -q '^mkfs' "$LOG"
}

@test "fakes: a blank volume gets XFS with reflinks on first boot, then is mounted" {
  fake_world
  need_device
  run_setup
  [ "$status" -eq 0 ]
  grep -qx "blkid -p $DEVICE" "$LOG"
  grep -qx "wipefs --no-act --noheadings $DEVICE" "$LOG"
  # Never -f: mkfs.xfs itself refuses to overwrite a signature this script missed.
  grep -qx "mkfs.xfs -q -m reflink=1 $DEVICE" "$LOG"
  [ "$(grep -E '^(mkfs.xfs|mount) ' "$LOG" | cut -d' ' -f1 | paste -sd' ')" = "mkfs.xfs mount" ]
}

@test "fakes: a volume with another filesystem, or a signature only wipefs sees, is refused (exit 4)" {
  fake_world
  need_device
  echo ext4 >"$FAKE/blkid-type"
  echo 0 >"$FAKE/blkid-rc"
  run_setup
  [ "$status" -eq 4 ]
  [[ "$output" == *"refusing to format $DEVICE: it holds ext4 that is not an XFS filesystem"* ]]
  untouched
  rm "$FAKE/blkid-type"
  echo 2 >"$FAKE/blkid-rc"
  echo "0x1fe dos" >"$FAKE/wipefs"
  : >"$LOG"
  run_setup
  [ "$status" -eq 4 ]
  untouched
  # A probe that could not tell (blkid -p exit 4: ambivalent) is not blank either.
  : >"$FAKE/wipefs"
  echo 4 >"$FAKE/blkid-rc"
  : >"$LOG"
  run_setup
  [ "$status" -eq 4 ]
  untouched
}

@test "fakes: the volume already mounted there is left alone; anything else mounted there is refused" {
  fake_world
  need_device
  echo "$DEVICE xfs" >"$FAKE/mounted"
  run_setup
  [ "$status" -eq 0 ]
  [[ "$output" == *"already mounted"* ]]
  untouched
  run ! grep -q -e '^blkid' -e '^wipefs' "$LOG"
  echo "tmpfs tmpfs" >"$FAKE/mounted"
  : >"$LOG"
  run_setup
  [ "$status" -eq 4 ]
  [[ "$output" == *"$MNT is a mount of tmpfs (tmpfs), not of the state volume $DEVICE"* ]]
  untouched
}

@test "fakes: an XFS without reflinks is mounted, with a warning that vm-state will refuse it" {
  fake_world
  need_device
  echo xfs >"$FAKE/blkid-type"
  rm "$FAKE/reflink"
  run_setup
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: the XFS on $DEVICE has no reflinks"* ]]
}

@test "fakes: reflinks found early in a long xfs_info output give no warning (no SIGPIPE false alarm)" {
  fake_world
  need_device
  echo xfs >"$FAKE/blkid-type"
  touch "$FAKE/xfs-info-more"
  run_setup
  [ "$status" -eq 0 ]
  [[ "$output" == *"is mounted at $MNT"* ]]
  [[ "$output" != *"no reflinks"* ]]
}

@test "fakes: a mounted XFS is grown onto the whole device, on every run (the volume may have grown)" {
  fake_world
  need_device
  echo xfs >"$FAKE/blkid-type"
  run_setup
  [ "$status" -eq 0 ]
  grep -qx "xfs_growfs -d $MNT" "$LOG"
  [[ "$output" != *"grew"* ]]
  # storage.volumeGiB 256 -> 300: AWS grew the volume; the switch runs the unit again, mounted.
  echo $((300 * 1024 * 1024 * 1024)) >"$FAKE/dev-bytes"
  : >"$LOG"
  run_setup "$DEVICE" --size-gib 300
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  [[ "$output" == *"already mounted"* ]]
  [[ "$output" == *"grew the XFS at $MNT from 262144 MiB to 307200 MiB"* ]]
  [[ "$output" != *"warning"* ]]
  untouched
  # A fresh filesystem needs no growing.
  rm "$FAKE/blkid-type" "$FAKE/mounted"; : >"$LOG"
  run_setup
  [ "$status" -eq 0 ]
  grep -q '^mkfs.xfs' "$LOG"
  run ! grep -q '^xfs_growfs' "$LOG"
}

@test "fakes: --size-gib: a device smaller than asked is waited for when mounted, then a warning; so is a failed xfs_growfs" {
  fake_world
  need_device
  echo "$DEVICE xfs" >"$FAKE/mounted"
  run_setup "$DEVICE" --size-gib 300
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: $DEVICE is 256 GiB, less than the 300 GiB asked (storage.volumeGiB): the grown volume is not visible yet; the next boot or switch grows into it"* ]]
  # A switch right after AWS accepted the modification: the size shows a moment later.
  (sleep 2; echo $((300 * 1024 * 1024 * 1024)) >"$FAKE/dev-bytes") &
  STATE_VOLUME_GROW_TIMEOUT=30 run_setup "$DEVICE" --size-gib 300
  wait
  [ "$status" -eq 0 ]
  [[ "$output" == *"$DEVICE is 256 GiB, 300 GiB asked: waiting up to 30s for the grown volume to show"* ]]
  [[ "$output" == *"grew the XFS at $MNT from 262144 MiB to 307200 MiB"* ]]
  [[ "$output" != *"warning"* ]]
  # At boot (not mounted yet) nothing waits.
  rm "$FAKE/mounted"; echo xfs >"$FAKE/blkid-type"
  STATE_VOLUME_GROW_TIMEOUT=30 run_setup "$DEVICE" --size-gib 400
  [ "$status" -eq 0 ]
  [[ "$output" != *"waiting"* ]]
  [[ "$output" == *"warning: $DEVICE is 300 GiB, less than the 400 GiB asked"* ]]
  touch "$FAKE/growfs-fails"
  run_setup "$DEVICE" --size-gib 256
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: could not grow the XFS at $MNT onto $DEVICE (it keeps working at its size)"* ]]
  # Without --size-gib the device's size is not read.
  : >"$LOG"
  run_setup
  run ! grep -q '^blockdev' "$LOG"
}

@test "a device that never appears is an error naming it, and nothing is touched" {
  fake_world
  run_setup /dev/disk/by-id/nvme-missing-volume
  [ "$status" -eq 1 ]
  [[ "$output" == *"/dev/disk/by-id/nvme-missing-volume did not appear"* ]]
  untouched
  run ! grep -q -e '^blkid' "$LOG"
}

@test "wrong arguments print the usage line and exit 2" {
  run "$SCRIPT" /dev/sdb
  [ "$status" -eq 2 ]
  [[ "$output" == "Usage: "* ]]
  run "$SCRIPT" sdb "$MNT"
  [ "$status" -eq 2 ]
  [[ "$output" == *'"sdb"'* ]]
  run "$SCRIPT" /dev/sdb states
  [ "$status" -eq 2 ]
  [[ "$output" == *'"states"'* ]]
  local size
  for size in 0 1.5 -1 12x ''; do
    run "$SCRIPT" /dev/sdb "$MNT" --size-gib "$size"
    [ "$status" -eq 2 ] || { echo "'$size' gave $status" >&2; return 1; }
    [[ "$output" == *"--size-gib \"$size\" is not a whole number of GiB"* ]]
  done
  for extra in --size-gib --force "--size-gib 8 --size-gib"; do
    # shellcheck disable=SC2086 # split on purpose
    run "$SCRIPT" /dev/sdb "$MNT" $extra
    [ "$status" -eq 2 ] || { echo "'$extra' gave $status" >&2; return 1; }
    [[ "$output" == "Usage: "* ]]
  done
}

@test "the script passes shellcheck" {
  require_tools shellcheck
  shellcheck "$SCRIPT"
}

# --- for real, on loop devices -------------------------------------------------------------------

# loop_volume NAME SIZE_MIB: a sparse file attached to a loop device, reached like the EBS volume
# through a by-id style link; prints the link. Detached in teardown.
loop_volume() {
  local file="$BATS_TEST_TMPDIR/$1.img" dev
  truncate -s "${2}M" "$file"
  dev=$(losetup --find --show "$file")
  echo "$dev" >>"$BATS_TEST_TMPDIR/loops"
  ln -s "$dev" "$BATS_TEST_TMPDIR/nvme-$1"
  echo "$BATS_TEST_TMPDIR/nvme-$1"
}
real_world() {
  require_root
  require_tools losetup mkfs.xfs xfs_info mkfs.ext4 blkid wipefs mount umount findmnt mountpoint sha256sum
  STATES="$BATS_TEST_TMPDIR/states"
  unset STATE_VOLUME_DEVICE_TIMEOUT
}
teardown() {
  if [ -n "${STATES:-}" ] && mountpoint -q "$STATES" 2>/dev/null; then umount "$STATES" || umount -l "$STATES"; fi
  if [ -f "$BATS_TEST_TMPDIR/loops" ]; then
    while IFS= read -r dev; do losetup -d "$dev" 2>/dev/null || true; done <"$BATS_TEST_TMPDIR/loops"
  fi
}
# The first MiB of a volume, to show that nothing wrote to it.
head_sum() { head -c 1048576 "$1" | sha256sum; }

@test "real: a blank volume is formatted XFS with reflinks and mounted; again, nothing changes" {
  real_world
  local vol uuid
  vol=$(loop_volume blank 512)
  run "$SCRIPT" "$vol" "$STATES"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  [[ "$output" == *"is blank: creating an XFS filesystem with reflinks"* ]]
  [ "$(findmnt -n -o FSTYPE --mountpoint "$STATES")" = xfs ]
  [ "$(findmnt -n -o SOURCE --mountpoint "$STATES")" = "$(realpath "$vol")" ]
  xfs_info "$STATES" | grep -q 'reflink=1'
  # What vm-state needs of it: reflink copies.
  echo data >"$STATES/a"
  cp --reflink=always "$STATES/a" "$STATES/b"
  uuid=$(blkid -p -o value -s UUID "$vol")
  # Run again while mounted (a switch restarting the unit): left alone.
  run "$SCRIPT" "$vol" "$STATES"
  [ "$status" -eq 0 ]
  [[ "$output" == *"already mounted"* ]]
  # Next boot: unmounted, the same filesystem is mounted again, not re-created.
  umount "$STATES"
  run "$SCRIPT" "$vol" "$STATES"
  [ "$status" -eq 0 ]
  [[ "$output" != *"creating"* ]]
  [ "$(cat "$STATES/b")" = data ]
  [ "$(blkid -p -o value -s UUID "$vol")" = "$uuid" ]
}

@test "real: a grown volume: the mounted XFS grows into it, keeping its data" {
  real_world
  require_tools xfs_growfs blockdev df
  local vol dev before after
  vol=$(loop_volume grow 512)
  dev=$(realpath "$vol")
  run "$SCRIPT" "$vol" "$STATES" --size-gib 1
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  # 512 MiB is less than the 1 GiB asked: reported, not refused.
  [[ "$output" == *"warning: $vol is 0 GiB, less than the 1 GiB asked"* ]] || { echo "$output" >&2; return 1; }
  echo data >"$STATES/a"
  before=$(df --output=size -B1 "$STATES" | tail -n 1)
  # What an EBS modification does: the device grows under the mounted filesystem.
  truncate -s 1024M "$BATS_TEST_TMPDIR/grow.img"
  losetup -c "$dev"
  [ "$(blockdev --getsize64 "$dev")" -eq $((1024 * 1024 * 1024)) ]
  run "$SCRIPT" "$vol" "$STATES" --size-gib 1
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  [[ "$output" == *"already mounted"* ]]
  [[ "$output" == *"grew the XFS at $STATES from "*" MiB to "*" MiB"* ]]
  [[ "$output" != *"warning"* ]]
  after=$(df --output=size -B1 "$STATES" | tail -n 1)
  [ "$after" -gt $((before + 400 * 1024 * 1024)) ] || { echo "$before -> $after" >&2; return 1; }
  [ "$(cat "$STATES/a")" = data ]
  # Again: nothing more to grow, nothing said about it.
  run "$SCRIPT" "$vol" "$STATES" --size-gib 1
  [ "$status" -eq 0 ]
  [[ "$output" != *"grew"* ]]
  # Grown while unmounted (a stopped host): grown at the next mount.
  umount "$STATES"
  truncate -s 1536M "$BATS_TEST_TMPDIR/grow.img"
  losetup -c "$dev"
  run "$SCRIPT" "$vol" "$STATES"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  [[ "$output" == *"grew the XFS at $STATES"* ]]
  [ "$(df --output=size -B1 "$STATES" | tail -n 1)" -gt $((after + 400 * 1024 * 1024)) ]
  [ "$(cat "$STATES/a")" = data ]
}

@test "real: a volume holding ext4, or only a partition table, is refused and not written to" {
  real_world
  local vol sum
  vol=$(loop_volume ext4 64)
  mkfs.ext4 -q "$vol"
  sum=$(head_sum "$vol")
  run "$SCRIPT" "$vol" "$STATES"
  [ "$status" -eq 4 ]
  [[ "$output" == *"it holds ext4 that is not an XFS filesystem"* ]]
  [ "$(head_sum "$vol")" = "$sum" ]
  run ! mountpoint -q "$STATES"
  # An MBR with one partition entry and nothing else: no filesystem type at all, which is where
  # a check by filesystem type alone (systemd-makefs, NixOS autoFormat) would format.
  vol=$(loop_volume mbr 512)
  printf '\x00\x00\x02\x00\x83\x00\x00\x00\x00\x08\x00\x00\x00\xf8\x01\x00' | dd of="$vol" bs=1 seek=446 conv=notrunc status=none
  printf '\x55\xaa' | dd of="$vol" bs=1 seek=510 conv=notrunc status=none
  [ -z "$(blkid -p -o value -s TYPE "$vol")" ]
  sum=$(head_sum "$vol")
  run "$SCRIPT" "$vol" "$STATES"
  [ "$status" -eq 4 ]
  [[ "$output" == *"refusing to format $vol"* ]]
  [ "$(head_sum "$vol")" = "$sum" ]
  run ! mountpoint -q "$STATES"
}

@test "real: something else mounted at the states directory is refused" {
  real_world
  local vol
  vol=$(loop_volume blank 512)
  mkdir -p "$STATES"
  mount -t tmpfs tmpfs "$STATES"
  run "$SCRIPT" "$vol" "$STATES"
  [ "$status" -eq 4 ]
  [[ "$output" == *"is a mount of tmpfs (tmpfs), not of the state volume"* ]]
  [ "$(blkid -p "$vol" >/dev/null 2>&1; echo $?)" = 2 ]
}
