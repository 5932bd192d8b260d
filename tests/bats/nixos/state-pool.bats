#!/usr/bin/env bats
# nixos/scripts/state-pool-setup (the zfs backend's first-boot logic) against fake zpool, zfs,
# blkid and wipefs that record every call: a pool is imported when it exists, created only on a
# disk with no signature at all, and a disk holding anything else is never touched.
# shellcheck disable=SC2154 # bats' run sets $stderr per test
load helpers

SCRIPT="$NIXOS/scripts/state-pool-setup"

setup() {
  FAKE="$BATS_TEST_TMPDIR/fake"; BIN="$BATS_TEST_TMPDIR/bin"; LOG="$BATS_TEST_TMPDIR/calls"
  mkdir -p "$FAKE" "$BIN"; : >"$LOG"
  # State of the fake world: files under $FAKE say what exists.
  #   imported   - the pool is imported;   importable - `zpool import` finds it on the device
  #   foreign    - the pool is on the device, last used by another host: only `import -f` takes it
  #   blkid-rc   - blkid -p exit code (2 = nothing found);   wipefs - wipefs output
  #   dataset    - <pool>/states exists;   mounted - it is mounted
  echo 2 >"$FAKE/blkid-rc"; : >"$FAKE/wipefs"
  cat >"$BIN/zpool" <<FAKE
#!/usr/bin/env bash
echo "zpool \$*" >>"$LOG"
case "\$1" in
  list) [ -e "$FAKE/imported" ] ;;
  import)
    if [ -e "$FAKE/importable" ] || { [ -e "$FAKE/foreign" ] && [ "\$2" = -f ]; }; then
      touch "$FAKE/imported"
    elif [ -e "$FAKE/foreign" ]; then
      echo "cannot import '\${*: -1}': pool was previously in use from another system." >&2
      echo "Last accessed by ip-172-20-1-10 (hostid=8425e349) at Tue Dec  1 10:00:00 2026" >&2
      echo "The pool can be imported, use 'zpool import -f' to import the pool." >&2
      exit 1
    else
      echo "cannot import '\${*: -1}': no such pool available" >&2
      exit 1
    fi ;;
  create) touch "$FAKE/imported" ;;
  set|online) [ ! -e "$FAKE/expand-fails" ] || { echo "cannot expand microvms: device is busy" >&2; exit 1; } ;;
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
  # dev-bytes: the size of the device (256 GiB, the default storage.volumeGiB).
  echo $((256 * 1024 * 1024 * 1024)) >"$FAKE/dev-bytes"
  cat >"$BIN/blockdev" <<FAKE
#!/usr/bin/env bash
echo "blockdev \$*" >>"$LOG"
cat "$FAKE/dev-bytes"
FAKE
  chmod +x "$BIN"/*
  # The state volume: a block device node of our own (never opened: every tool that would read
  # it is a fake). Making one needs root, as CI is.
  DEVICE="$BATS_TEST_TMPDIR/nvme-Amazon_Elastic_Block_Store_vol0test"
  mknod "$DEVICE" b 7 250 2>/dev/null || DEVICE=""
  export PATH="$BIN:$PATH" STATE_POOL_DEVICE_TIMEOUT=0 STATE_POOL_GROW_TIMEOUT=0
}

run_setup() { run "$SCRIPT" microvms "${1:-$DEVICE}" /var/lib/microvms/states "${@:2}"; }
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

@test "a pool last used by another host is never forced without --import-foreign: exit 4, not imported, not created" {
  need_device
  touch "$FAKE/foreign"
  echo 0 >"$FAKE/blkid-rc" # its ZFS label
  run_setup
  [ "$status" -eq 4 ]
  [[ "$output" == *"refusing to create pool microvms: $DEVICE holds data that is not an importable pool microvms"* ]]
  [[ "$output" == *"zpool import: cannot import 'microvms': pool was previously in use from another system."* ]]
  [[ "$output" == *"only when the state volume was made from a snapshot"*"hosts.<name>.storage.fromSnapshot"* ]]
  grep -qx "zpool import -d $DEVICE -N microvms" "$LOG"
  run ! grep -q -e '^zpool import -f' -e '^zpool create' -e '^zfs create' "$LOG"
  [ ! -e "$FAKE/imported" ]
}

@test "--import-foreign: a pool last used by another host is imported with -f, from the device only, saying why" {
  need_device
  touch "$FAKE/foreign" "$FAKE/dataset"; echo /var/lib/microvms/states >"$FAKE/mountpoint"
  echo 0 >"$FAKE/blkid-rc"
  run_setup "$DEVICE" --import-foreign
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  [[ "$output" == *"imported pool microvms from $DEVICE with 'zpool import -f': it was last used by another host (cannot import"*"Last accessed by ip-172-20-1-10"* ]]
  [[ "$output" == *"forced because the state volume was made from a snapshot (storage.fromSnapshot)"* ]]
  # The plain import first; -f only after it failed.
  [ "$(grep '^zpool import' "$LOG")" = "zpool import -d $DEVICE -N microvms
zpool import -f -d $DEVICE -N microvms" ]
  run ! grep -q -e '^zpool create' -e '^zfs create' -e '^blkid' -e '^wipefs' "$LOG"
}

@test "--import-foreign: a pool that imports plainly gets no -f; a next boot (already imported) nothing" {
  need_device
  touch "$FAKE/importable"
  run_setup "$DEVICE" --import-foreign
  [ "$status" -eq 0 ]
  grep -qx "zpool import -d $DEVICE -N microvms" "$LOG"
  run ! grep -q -e '^zpool import -f' -e '^zpool create' "$LOG"
  : >"$LOG"
  run_setup "$DEVICE" --import-foreign
  [ "$status" -eq 0 ]
  run ! grep -q -e '^zpool import' -e '^zpool create' "$LOG"
}

@test "--import-foreign never creates over data: a device holding something else is refused, exit 4" {
  need_device
  echo 0 >"$FAKE/blkid-rc"
  run_setup "$DEVICE" --import-foreign
  [ "$status" -eq 4 ]
  [[ "$output" == *"zpool import: cannot import 'microvms': no such pool available"* ]]
  [[ "$output" != *"hosts.<name>.storage.fromSnapshot"* ]]
  grep -qx "zpool import -f -d $DEVICE -N microvms" "$LOG"
  run ! grep -q -e '^zpool create' -e '^zfs create' "$LOG"
}

@test "--import-foreign on a blank device (the snapshot held no pool): the pool is created, with a warning" {
  need_device
  run_setup "$DEVICE" --import-foreign
  [ "$status" -eq 0 ]
  grep -q "^zpool create .* microvms $DEVICE\$" "$LOG"
  [[ "$output" == *"warning: $DEVICE was made from a snapshot (storage.fromSnapshot) but is blank: the snapshot held no pool microvms"* ]]
}

@test "every run sets autoexpand and expands the pool onto the whole device (the volume may have grown)" {
  need_device
  touch "$FAKE/importable" "$FAKE/dataset"; echo /var/lib/microvms/states >"$FAKE/mountpoint"
  run_setup
  [ "$status" -eq 0 ]
  grep -qx "zpool set autoexpand=on microvms" "$LOG"
  grep -qx "zpool online -e microvms $DEVICE" "$LOG"
  # Also when the pool is already imported (a switch with a new storage.volumeGiB runs it again),
  # and right after creating it.
  : >"$LOG"
  run_setup
  [ "$status" -eq 0 ]
  [ "$(grep -c -e '^zpool set autoexpand=on microvms$' -e "^zpool online -e microvms $DEVICE\$" "$LOG")" -eq 2 ]
  run ! grep -q '^zpool import' "$LOG"
  rm "$FAKE/imported" "$FAKE/importable"; : >"$LOG"
  run_setup
  [ "$status" -eq 0 ]
  [ "$(grep -E '^zpool (create|set|online)' "$LOG" | cut -d' ' -f2 | paste -sd' ')" = "create set online" ]
}

@test "a pool that cannot be expanded is a warning: it keeps working at its size" {
  need_device
  touch "$FAKE/imported" "$FAKE/expand-fails"
  run_setup
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  [[ "$output" == *"warning: could not set autoexpand on pool microvms: cannot expand microvms: device is busy"* ]]
  [[ "$output" == *"warning: could not expand pool microvms onto $DEVICE: cannot expand microvms: device is busy (it keeps working at its size)"* ]]
  [[ "$output" == *"microvms/states is mounted at /var/lib/microvms/states"* ]]
}

@test "--size-gib: a device smaller than asked is waited for when imported (a switch), then reported, never refused" {
  need_device
  touch "$FAKE/imported"
  run_setup "$DEVICE" --size-gib 256
  [ "$status" -eq 0 ]
  grep -qx "blockdev --getsize64 $DEVICE" "$LOG"
  [[ "$output" != *"warning"* ]]
  # storage.volumeGiB grown to 300, the modification not visible yet.
  run_setup "$DEVICE" --size-gib 300
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: $DEVICE is 256 GiB, less than the 300 GiB asked (storage.volumeGiB): the grown volume is not visible yet; the next boot or switch grows into it"* ]]
  [[ "$output" == *"microvms/states is mounted at /var/lib/microvms/states"* ]]
  # A switch right after AWS accepted the modification: the size shows a moment later.
  (sleep 2; echo $((300 * 1024 * 1024 * 1024)) >"$FAKE/dev-bytes") &
  STATE_POOL_GROW_TIMEOUT=30 run_setup "$DEVICE" --size-gib 300
  wait
  [ "$status" -eq 0 ]
  [[ "$output" == *"$DEVICE is 256 GiB, 300 GiB asked: waiting up to 30s for the grown volume to show"* ]]
  [[ "$output" != *"warning"* ]]
  # Only once it shows is the pool expanded onto it.
  [ "$(grep -E '^(blockdev|zpool online)' "$LOG" | tail -n 2 | cut -d' ' -f1 | paste -sd' ')" = "blockdev zpool" ]
  # At boot (the pool not imported yet) nothing waits: what the kernel sees then is the size.
  rm "$FAKE/imported"; touch "$FAKE/importable"
  STATE_POOL_GROW_TIMEOUT=30 run_setup "$DEVICE" --size-gib 400
  [ "$status" -eq 0 ]
  [[ "$output" != *"waiting"* ]]
  [[ "$output" == *"warning: $DEVICE is 300 GiB, less than the 400 GiB asked"* ]]
  # With --import-foreign too, in either order.
  run_setup "$DEVICE" --size-gib 256 --import-foreign
  [ "$status" -eq 0 ]
  # Without --size-gib the size is not read.
  : >"$LOG"
  run_setup
  run ! grep -q '^blockdev' "$LOG"
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
  # The only fourth argument is --import-foreign (no -f, no --force), and nothing after it.
  local extra
  for extra in -f --force --import-foreign=yes ''; do
    run "$SCRIPT" microvms /dev/sdb /var/lib/microvms/states "$extra"
    [ "$status" -eq 2 ] || { echo "'$extra' gave $status" >&2; return 1; }
    [[ "$output" == "Usage: state-pool-setup POOL DEVICE MOUNTPOINT [--import-foreign] [--size-gib N]" ]]
  done
  run "$SCRIPT" microvms /dev/sdb /var/lib/microvms/states --import-foreign --import-foreign
  [ "$status" -eq 2 ]
  # --size-gib takes one whole number of GiB, once.
  local size
  for size in 0 1.5 -1 12x ''; do
    run "$SCRIPT" microvms /dev/sdb /var/lib/microvms/states --size-gib "$size"
    [ "$status" -eq 2 ] || { echo "'$size' gave $status" >&2; return 1; }
    [[ "$output" == *"--size-gib \"$size\" is not a whole number of GiB"* ]]
  done
  run "$SCRIPT" microvms /dev/sdb /var/lib/microvms/states --size-gib
  [ "$status" -eq 2 ]
  [[ "$output" == "Usage: "* ]]
  run "$SCRIPT" microvms /dev/sdb /var/lib/microvms/states --size-gib 8 --size-gib 9
  [ "$status" -eq 2 ]
  run ! grep -q '^zpool' "$LOG"
}

# storage_module FIXTURE [EDIT]: what modules/storage.nix sets that these tests read (the pool
# unit's ExecStart, the warnings), evaluated with the few lib and pkgs functions it uses written
# out here (no nixpkgs); escapeShellArgs quotes every argument.
# shellcheck disable=SC2016 # Nix, not shell, expands ${...} here
storage_module() {
  nix_eval '{ module, fixture, edit }:
    let
      inherit (builtins) concatStringsSep elemAt map;
      stub = {
        mkMerge = xs: xs;
        mkIf = c: v: if c then v else { };
        optional = c: v: if c then [ v ] else [ ];
        optionals = c: v: if c then v else [ ];
        getExe = d: "/nix/store/x-${d.name}/bin/${d.name}";
        escapeShellArgs = args: concatStringsSep " " (map (a: "'"'"'${a}'"'"'") args);
      };
      pkgs = { writeShellApplication = a: { inherit (a) name; }; util-linux = "u"; coreutils = "c"; xfsprogs = "x"; gnugrep = "g"; };
      infra = edit (builtins.fromJSON (builtins.readFile fixture));
      r = import module { lib = stub; inherit pkgs infra; config.boot.zfs.package = "zfs"; };
    in
    {
      execStart = (elemAt r 1).systemd.services.microvm-state-pool.serviceConfig.ExecStart or null;
      warnings = (elemAt r 0).warnings;
    }' --argstr module "$NIXOS/modules/storage.nix" --argstr fixture "$1" \
    --arg edit "${2:-infra: infra}"
}

@test "the storage module passes --import-foreign only when infra.json has storage.fromSnapshot" {
  nix_setup
  require_tools jq
  local prefix="/nix/store/x-state-pool-setup/bin/state-pool-setup 'microvms' '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0placeholder000000' '/var/lib/microvms/states'"
  run --separate-stderr storage_module "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  [ "$(jq -r .execStart <<<"$output")" = "$prefix '--size-gib' '256'" ]
  run --separate-stderr storage_module "$FIXTURES/five-slots.json" 'infra: infra // { storage = infra.storage // { fromSnapshot = null; }; }'
  [ "$(jq -r .execStart <<<"$output")" = "$prefix '--size-gib' '256'" ]
  run --separate-stderr storage_module "$FIXTURES/five-slots.json" 'infra: infra // { storage = infra.storage // { fromSnapshot = "snap-0123456789abcdef0"; }; }'
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  [ "$(jq -r .execStart <<<"$output")" = "$prefix '--import-foreign' '--size-gib' '256'" ]
}

@test "the storage module passes storage.volumeGiB as --size-gib: a new size changes the unit, so a switch grows into it" {
  nix_setup
  require_tools jq
  local prefix="/nix/store/x-state-pool-setup/bin/state-pool-setup 'microvms' '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0placeholder000000' '/var/lib/microvms/states'"
  run --separate-stderr storage_module "$FIXTURES/five-slots.json" 'infra: infra // { storage = infra.storage // { volumeGiB = 300; }; }'
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  [ "$(jq -r .execStart <<<"$output")" = "$prefix '--size-gib' '300'" ]
  # An infra.json from before storage.volumeGiB (or null): no size check, the pool still expands.
  run --separate-stderr storage_module "$FIXTURES/five-slots.json" 'infra: infra // { storage = removeAttrs infra.storage [ "volumeGiB" ]; }'
  [ "$(jq -r .execStart <<<"$output")" = "$prefix" ]
  run --separate-stderr storage_module "$FIXTURES/five-slots.json" 'infra: infra // { storage = infra.storage // { volumeGiB = null; }; }'
  [ "$(jq -r .execStart <<<"$output")" = "$prefix" ]
}

@test "the storage module's warning for autoSnapshots without ZFS names the stack config's key and infra.json's" {
  nix_setup
  require_tools jq
  run --separate-stderr storage_module "$FIXTURES/five-slots.json" 'infra: infra // { storage = removeAttrs infra.storage [ "pool" ] // { backend = "xfs"; }; }'
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  [ "$(jq -r '.warnings | length' <<<"$output")" -eq 1 ]
  [ "$(jq -r '.warnings[0]' <<<"$output")" = 'states.<name>.autoSnapshots in the stack config (storage.autoSnapshots in infra.json) is ignored with storage.backend "xfs": scheduled snapshots need ZFS.' ]
  run --separate-stderr storage_module "$FIXTURES/five-slots.json"
  [ "$(jq -c .warnings <<<"$output")" = '[]' ]
}

@test "the script passes shellcheck" {
  require_tools shellcheck
  shellcheck "$SCRIPT"
}
