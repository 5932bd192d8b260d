# infra -> the systemd unit settings (shaped like NixOS's `systemd.services`) that tie the slots'
# `microvm@<slot>` units to the host's state storage. modules/slots.nix and modules/storage.nix set
# exactly this; tests/bats/nixos evaluates it.
#
# - `microvm@<slot>`: skipped (ConditionPathExists, not failed) while the slot has no state link.
# - zfs and xfs backends: `microvm@` Wants= and After= the storage unit (microvm-state-pool.service,
#   microvm-state-volume.service), so a boot or a slot start brings the states' storage up first,
#   and AssertPathIsMountPoint= on the states directory, so a slot never starts on unmounted
#   states (the unit fails, visibly). Never a stop-propagating dependency: ./storage.nix says why.
#
# Builtins only (no nixpkgs).
infra:
let
  paths = import ./paths.nix;
  slots = (import ./validate.nix infra).slots;
in
builtins.listToAttrs (
  map (s: {
    name = "microvm@${s.name}";
    value.unitConfig.ConditionPathExists = paths.slotImage s.name;
  }) slots
)
// {
  "microvm@" = (import ./storage.nix infra).dependency;
}
