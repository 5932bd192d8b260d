# shellcheck shell=bash
# The state volume's device, waited for and probed: shared by state-pool-setup and
# state-volume-setup. Run from a checkout, each script sources this file; the storage module
# (../modules/storage.nix) concatenates it in front of each, so it is already defined there.
# Both functions report through the script's own log.

# wait_for_device DEVICE TIMEOUT: waits up to TIMEOUT seconds for the block device DEVICE to
# appear; exits 1 if it does not.
wait_for_device() {
  local device=$1 timeout=$2 waited=0
  while [ ! -b "$device" ]; do
    if [ "$waited" -ge "$timeout" ]; then
      log "device $device did not appear within ${timeout}s; is the state volume attached?"
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

# is_blank DEVICE: true only when neither blkid's low-level probe nor wipefs finds any signature
# (filesystem, RAID, partition table, ZFS label) on DEVICE.
is_blank() {
  local device=$1 rc=0 sigs
  blkid -p "$device" >/dev/null 2>&1 || rc=$?
  # blkid -p: 0 = found something, 2 = nothing found, anything else = could not tell.
  [ "$rc" -eq 2 ] || return 1
  sigs=$(wipefs --no-act --noheadings "$device") || return 1
  [ -z "$sigs" ]
}

# check_size DEVICE SIZE_GIB [WAIT]: reports, without failing, a device smaller than SIZE_GIB GiB:
# the state volume grown by an EBS modification the kernel does not see yet. The provider's update
# returns once AWS accepted the modification, not when the new size is visible (the volume stays
# "in-use" throughout: lib/constraints/facts.ts volumeUpdateReturnsBeforeTheSizeShows), so a switch
# right after it may come first: with WAIT (seconds, default 0) it polls that long for the size. No SIZE_GIB (empty): nothing to check.
check_size() {
  local device=$1 size_gib=$2 wait=${3:-0} bytes waited=0
  [ -n "$size_gib" ] || return 0
  while :; do
    if ! bytes=$(blockdev --getsize64 "$device" 2>/dev/null); then
      log "warning: cannot read the size of $device"
      return 0
    fi
    [ "$bytes" -lt $((size_gib * 1024 * 1024 * 1024)) ] || return 0
    [ "$waited" -lt "$wait" ] || break
    [ "$waited" -gt 0 ] || log "$device is $((bytes / 1024 / 1024 / 1024)) GiB, ${size_gib} GiB asked: waiting up to ${wait}s for the grown volume to show"
    sleep 1
    waited=$((waited + 1))
  done
  log "warning: $device is $((bytes / 1024 / 1024 / 1024)) GiB, less than the ${size_gib} GiB asked (storage.volumeGiB): the grown volume is not visible yet; the next boot or switch grows into it"
}
