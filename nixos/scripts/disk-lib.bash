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
