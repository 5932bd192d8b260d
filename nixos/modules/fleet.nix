# A host of a multi-host stack (infra.json `fleet`, docs/nixos.md "The fleet"): root accepts the
# fleet's transfer key for `vm-state fleet-serve` only and from the other hosts only; vm-state gets
# an SSH client configuration that trusts only the hosts' pinned keys; each state this host
# replicates gets a timer. All of it from ../lib/fleet.nix. A one-host stack has no `fleet` key,
# and this module then sets nothing at all.
#
# The private transfer key is not here: the deployment installs it, root-only, at
# fleet.transferKeyFile; it never enters the Nix store.
{ lib, infra, ... }:
let
  fleet = import ../lib/fleet.nix infra;
in
lib.mkIf fleet.enabled {
  # Joins the operators' keys (./users.nix) in /etc/ssh/authorized_keys.d/root.
  users.users.root.openssh.authorizedKeys.keys = fleet.authorizedKeys;
  environment.etc = lib.mapAttrs' (path: text: lib.nameValuePair (lib.removePrefix "/etc/" path) { inherit text; }) fleet.etc;
  systemd.services = fleet.services;
  systemd.timers = fleet.timers;
}
