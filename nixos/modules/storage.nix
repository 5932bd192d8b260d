# Where the states live. Backend "zfs": the pool on the state volume (imported, or created on first
# boot only when the disk is blank), dataset <pool>/states at the states directory, optional sanoid
# snapshots. Backend "files": a plain directory on the root disk.
{ config, lib, pkgs, infra, ... }:
let
  paths = import ../lib/paths.nix;
  st = infra.storage;
  zfs = st.backend == "zfs";
  state-pool-setup = pkgs.writeShellApplication {
    name = "state-pool-setup";
    runtimeInputs = [ config.boot.zfs.package pkgs.util-linux pkgs.coreutils ];
    text = builtins.readFile ../scripts/state-pool-setup;
  };
in
lib.mkMerge [
  {
    # The slots' links live in stateDir; microvm.nix creates it too, with its own owner.
    systemd.tmpfiles.rules = lib.optional (!zfs) "d ${paths.statesDir} 0755 root root -";
    warnings = lib.optional (!zfs && (st.autoSnapshots or [ ]) != [ ])
      "storage.autoSnapshots is ignored with storage.backend \"files\": scheduled snapshots need ZFS.";
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
        ExecStart = "${lib.getExe state-pool-setup} ${lib.escapeShellArgs [ st.pool st.device paths.statesDir ]}";
      };
    };
    # How the slots' units wait for this one (Wants=/After=, never Requires=) and refuse to start
    # on unmounted states: ../lib/units.nix, applied by ./slots.nix.

    services.sanoid = {
      enable = (import ../lib/sanoid.nix infra) != { };
      datasets = import ../lib/sanoid.nix infra;
    };
  })
]
