# Fixed layout on the host (docs/deployment-data.md): not configurable, so not in infra.json.
rec {
  stateDir = "/var/lib/microvms";
  statesDir = "${stateDir}/states";
  # The slot's disk: a symlink that vm-state points at its assigned state's image.
  slotImage = slotName: "${stateDir}/${slotName}/data.img";
  infraJson = "/etc/microvm-infra/infra.json";
  # vm-state of the running system, by a path that needs no PATH (systemd units, a forced command).
  vmState = "/run/current-system/sw/bin/vm-state";
  # Node's compile cache for vm-state's bundle (lib/vm-state.nix): root's alone (modules/hypervisor.nix).
  vmStateCompileCache = "/var/cache/vm-state";
  # The fleet's SSH client side (lib/fleet.nix): `ssh -F <fleetSshConfig> <host>`.
  fleetSshConfig = "/etc/microvm-infra/fleet/ssh_config";
  fleetKnownHosts = "/etc/microvm-infra/fleet/known_hosts";
}
