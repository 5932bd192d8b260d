# infra -> the systemd unit settings (shaped like NixOS's `systemd.services`) that tie the slots'
# `microvm@<slot>` units to the host's state storage. modules/slots.nix and modules/storage.nix set
# exactly this; tests/bats/nixos evaluates it.
#
# - `microvm@<slot>`: skipped (ConditionPathExists, not failed) while the slot has no state link.
# - zfs backend: `microvm@` Wants= and After= microvm-state-pool.service, so a boot or a slot start
#   brings the pool up first, and AssertPathIsMountPoint= on the states directory, so a slot never
#   starts on an unmounted state (the unit fails, visibly). Never Requires=, Requisite=, BindsTo= or
#   PartOf=: those propagate a stop or restart of the pool unit (a switch that changes its script or
#   the zfs package restarts it) to every running slot. Wants= does not.
#
# Builtins only (no nixpkgs).
infra:
let
  paths = import ./paths.nix;
  slots = (import ./validate.nix infra).slots;
  zfs = infra.storage.backend == "zfs";
  pool = "microvm-state-pool.service";
in
builtins.listToAttrs (
  map (s: {
    name = "microvm@${s.name}";
    value.unitConfig.ConditionPathExists = paths.slotImage s.name;
  }) slots
)
// {
  "microvm@" =
    if zfs then
      {
        wants = [ pool ];
        after = [ pool ];
        unitConfig.AssertPathIsMountPoint = paths.statesDir;
      }
    else
      { };
}
