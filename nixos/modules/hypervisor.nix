# The hypervisor: one bridge per slot, the generated nftables ruleset, forwarding, nix settings,
# vm-state. Everything per slot comes from infra.slots through the generators in ../lib.
{ config, lib, pkgs, infra, ... }:
let
  paths = import ../lib/paths.nix;
  networkd = import ../lib/networkd.nix infra;
  # scripts/vm-state sources its parts from vm-state.d/; here they are concatenated in front of
  # it (it then finds them defined), so shellcheck checks the whole program at build time.
  # cloud-hypervisor: ch-remote pauses a running VM for a consistent snapshot (files, xfs).
  # openssh, gnutar: the fleet commands (ssh to the other hosts; tar --sparse streams on files/xfs).
  vm-state = pkgs.writeShellApplication {
    name = "vm-state";
    runtimeInputs = with pkgs; [ jq util-linux coreutils e2fsprogs systemd cloud-hypervisor openssh gnutar gnused gnugrep ]
      ++ lib.optional (infra.storage.backend == "zfs") config.boot.zfs.package;
    text = lib.concatMapStrings builtins.readFile [
      ../../scripts/vm-state.d/common.bash
      ../../scripts/vm-state.d/backend-files.bash
      ../../scripts/vm-state.d/backend-zfs.bash
      ../../scripts/vm-state.d/fleet.bash
      ../../scripts/vm-state.d/commands.bash
      ../../scripts/vm-state
    ];
  };
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
