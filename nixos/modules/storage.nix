# Where the states live. Backend "zfs": the pool on the state volume (imported, or created on first
# boot only when the disk is blank), dataset <pool>/states at the states directory, optional sanoid
# snapshots. Backend "xfs": the state volume formatted XFS with reflinks (on first boot, only when
# the disk is blank) and mounted at the states directory. Backend "files": a plain directory on the
# root disk. How the slots wait for the storage: ../lib/storage.nix, applied by ../lib/units.nix.
{ config, lib, pkgs, infra, ... }:
let
  paths = import ../lib/paths.nix;
  st = infra.storage;
  zfs = st.backend == "zfs";
  xfs = st.backend == "xfs";
  # The state volume's size: a new one changes the unit, so the switch runs the script again and
  # the pool or filesystem grows into the grown volume (it only grows: EBS cannot shrink).
  sizeArgs = lib.optionals ((st.volumeGiB or null) != null) [ "--size-gib" (toString st.volumeGiB) ];
  # Each script sources ../scripts/disk-lib.bash when run from a checkout; here the file is
  # concatenated in front of it (it then finds the functions defined), so shellcheck checks the whole.
  state-pool-setup = pkgs.writeShellApplication {
    name = "state-pool-setup";
    runtimeInputs = [ config.boot.zfs.package pkgs.util-linux pkgs.coreutils ];
    text = lib.concatMapStrings builtins.readFile [ ../scripts/disk-lib.bash ../scripts/state-pool-setup ];
  };
  state-volume-setup = pkgs.writeShellApplication {
    name = "state-volume-setup";
    runtimeInputs = [ pkgs.xfsprogs pkgs.util-linux pkgs.coreutils pkgs.gnugrep ];
    text = lib.concatMapStrings builtins.readFile [ ../scripts/disk-lib.bash ../scripts/state-volume-setup ];
  };
in
lib.mkMerge [
  {
    # The slots' links live in stateDir; microvm.nix creates it too, with its own owner. With zfs
    # and xfs the states directory is a mount point, made by the storage unit: a directory made
    # here would let a slot's state land on the root disk while the volume is missing.
    systemd.tmpfiles.rules = lib.optional (st.backend == "files") "d ${paths.statesDir} 0755 root root -";
    warnings = lib.optional (!zfs && (st.autoSnapshots or [ ]) != [ ])
      "states.<name>.autoSnapshots in the stack config (storage.autoSnapshots in infra.json) is ignored with storage.backend \"${st.backend}\": scheduled snapshots need ZFS.";
  }
  (lib.mkIf zfs {
    boot.supportedFilesystems = [ "zfs" ];
    networking.hostId = infra.host.hostId;
    # The pool is brought online by the unit below, not by the initrd: the root disk does not need it.
    boot.zfs.forceImportRoot = false;

    systemd.services.microvm-state-pool = {
      description = "Import (or create on a blank disk) the ZFS pool holding the microVM states";
      wantedBy = [ "multi-user.target" ];
      before = [ "microvms.target" "sanoid.service" ];
      after = [ "systemd-udev-settle.service" "zfs-import.target" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        # A volume made from an EBS snapshot of another host's volume (a restore onto a new host)
        # holds a pool last used by that host: only then may the script import it with -f.
        ExecStart = "${lib.getExe state-pool-setup} ${lib.escapeShellArgs (
          [ st.pool st.device paths.statesDir ] ++ lib.optional ((st.fromSnapshot or null) != null) "--import-foreign" ++ sizeArgs
        )}";
      };
    };
    # How the slots' units wait for this one (Wants=/After=, never Requires=) and refuse to start
    # on unmounted states: ../lib/storage.nix and ../lib/units.nix, applied by ./slots.nix.

    services.sanoid = {
      enable = (import ../lib/sanoid.nix infra) != { };
      datasets = import ../lib/sanoid.nix infra;
    };
  })
  (lib.mkIf xfs {
    # XFS is in the kernel: no module to keep in step with it. Not a fileSystems entry: NixOS's
    # autoFormat (systemd-makefs) formats whatever has no filesystem type, a partition table
    # included, and takes no mkfs options (reflink=1); the script checks like the zfs one does.
    boot.supportedFilesystems = [ "xfs" ];
    environment.systemPackages = [ pkgs.xfsprogs ];
    # The script waits for the device itself (STATE_VOLUME_DEVICE_TIMEOUT, 120 s). A switch that
    # changes this unit runs it again: the volume is already mounted, so it only grows the
    # filesystem into a grown volume (a new storage.volumeGiB changes the unit).
    systemd.services.microvm-state-volume = {
      description = "Mount (or format XFS on a blank disk) the state volume holding the microVM states";
      wantedBy = [ "multi-user.target" ];
      before = [ "microvms.target" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${lib.getExe state-volume-setup} ${lib.escapeShellArgs ([ st.device paths.statesDir ] ++ sizeArgs)}";
      };
    };
  })
]
