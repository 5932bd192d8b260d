# infra -> how the host's units wait for the states' storage, the one definition ./units.nix (the
# slots) and ./fleet.nix (the replication services) apply:
#   unit       the oneshot that brings the storage online: "microvm-state-pool.service" (zfs: import
#              or create the pool, mount <pool>/states), "microvm-state-volume.service" (xfs: mount,
#              or format a blank volume, at the states directory), null (files: a plain directory)
#   dependency { wants; after; unitConfig.AssertPathIsMountPoint; } for a unit that needs the states
#              mounted ({ } with files). With xfs it is also After= the states' mount unit, so at
#              shutdown the unit stops before the volume is unmounted (the script mounts it, so no
#              fstab entry orders it after the services).
#
# Wants= and After=, never Requires=, Requisite=, BindsTo= or PartOf=: those propagate a stop or
# restart of the storage unit (a switch that changes its script or its packages restarts it) to
# every unit that lists it; Wants= does not. AssertPathIsMountPoint= then makes a unit that starts
# while the states are not mounted fail, visibly, instead of running on the root disk.
#
# Builtins only (no nixpkgs).
infra:
let
  paths = import ./paths.nix;
  backend = (import ./validate.nix infra).storage.backend;
  unit =
    {
      zfs = "microvm-state-pool.service";
      xfs = "microvm-state-volume.service";
      files = null;
    }.${backend};
  # systemd's name for the mount unit of the states directory (systemd-escape --path): the path
  # is fixed and holds only a-z and '/', so no character needs escaping.
  mountUnit = builtins.replaceStrings [ "/" ] [ "-" ] (builtins.substring 1 (-1) paths.statesDir) + ".mount";
in
{
  inherit unit mountUnit;
  dependency =
    if unit == null then
      { }
    else
      {
        wants = [ unit ];
        after = [ unit ] ++ (if backend == "xfs" then [ mountUnit ] else [ ]);
        unitConfig.AssertPathIsMountPoint = paths.statesDir;
      };
}
