# The hypervisor: one bridge per slot, the generated nftables ruleset, forwarding, nix settings,
# vm-state. Everything per slot comes from infra.slots through the generators in ../lib.
{ config, lib, pkgs, infra, ... }:
let
  paths = import ../lib/paths.nix;
  networkd = import ../lib/networkd.nix infra;
  # The TypeScript vm-state from the deploy bundle (scripts/vm-state.js, built when the bundle is
  # made, never committed), run by nixpkgs' Node: ../lib/vm-state.nix.
  bundle = ../../scripts/vm-state.js;
  inherit (import ../lib/vm-state.nix {
    inherit pkgs lib;
    zfs = if infra.storage.backend == "zfs" then config.boot.zfs.package else null;
    bundle =
      if builtins.pathExists bundle then bundle
      else throw "scripts/vm-state.js is missing: the flake is evaluated from the deploy bundle, which carries vm-state's build (components/deploy/bundle.ts; `npm run plan -- --render-dir DIR` writes one)";
  }) vm-state;
in
{
  imports = [ ./storage.nix ./tailscale.nix ./users.nix ./slots.nix ./fleet.nix ];

  system.stateVersion = "26.05";
  networking.hostName = infra.host.hostName;

  # The uplink keeps the default DHCP network that networkd matches by type (no interface name).
  networking.useNetworkd = true;
  systemd.network = {
    enable = true;
    inherit (networkd) netdevs networks;
  };
  boot.kernel.sysctl = {
    "net.ipv4.ip_forward" = 1;
    "net.ipv4.conf.all.forwarding" = 1;
  };

  # Two firewalls side by side, both nftables: NixOS' own (the host's input: SSH, Tailscale's port)
  # and the generated table `inet microvm` for the slots: NAT to the internet, no slot to slot, no
  # metadata service, nothing to the host but a ping to the gateway, the tailnet to every slot.
  networking.nftables = {
    enable = true;
    ruleset = import ../lib/nftables.nix infra;
  };
  networking.firewall.enable = true;

  # jq: the deploy's switch job reads infra.json with it.
  environment.systemPackages = [ vm-state pkgs.jq ];
  # vm-state's Node compile cache (../lib/vm-state.nix): root's alone, since what is there runs as root.
  systemd.tmpfiles.rules = [ "d ${paths.vmStateCompileCache} 0700 root root -" ];
  # vm-state and operators read the deployment data here: exactly what this system was built from.
  environment.etc.${lib.removePrefix "/etc/" paths.infraJson}.text = builtins.toJSON infra;

  nix = {
    settings = {
      experimental-features = [ "nix-command" "flakes" ];
      trusted-users = [ "root" "@wheel" ];
    };
    # Weekly; the slots' runners are part of this system's closure (microvm.nix's install-microvm-*
    # units reference them), so the current generation's gcroot keeps them.
    gc = {
      automatic = true;
      dates = "weekly";
      options = "--delete-older-than 14d";
    };
  };
}
