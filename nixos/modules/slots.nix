# One microvm.vms.<slot> per entry of infra.slots: started at boot, restarted when its configuration
# changes. A slot whose disk link does not exist yet (no state assigned) is skipped, not failed; with
# the zfs backend a slot waits for the states' pool and never starts while it is not mounted
# (../lib/units.nix). A slot's declared modules (infra.json `modules`) join its guest system only
# (../lib/guest-modules.nix), so changing them rebuilds and restarts that slot alone.
{ lib, pkgs, infra, inputs, ... }:
let
  paths = import ../lib/paths.nix;
  slots = import ../lib/slots.nix infra;
  declared = import ../lib/guest-modules.nix { inherit infra inputs; };
in
{
  microvm.vms = lib.mapAttrs (name: guest: {
    autostart = true;
    restartIfChanged = true;
    specialArgs = { inherit guest infra inputs; };
    config.imports = [ ./guest.nix ] ++ map (m: m.module) declared.${name};
  }) slots;

  systemd.services = lib.recursiveUpdate (import ../lib/units.nix infra) {
    # The hypervisor runs as microvm.nix's unprivileged user; whatever state the link points at
    # (vm-state may just have moved it here), give that user the image before it starts ("+": root).
    "microvm@".serviceConfig.ExecStartPre = [
      "+${pkgs.coreutils}/bin/chown microvm:kvm ${paths.slotImage "%i"}"
      "+${pkgs.coreutils}/bin/chmod 0660 ${paths.slotImage "%i"}"
    ];
  };
}
