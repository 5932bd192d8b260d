# A slot's guest: minimal NixOS on Cloud Hypervisor. Its per-slot values (`guest`, from
# ../lib/guest.nix) come through specialArgs; nothing here is written per slot.
#
# Disk layout: the read-only erofs store image built with this configuration, and the state's
# data.img (ext4, label infra.guest.dataLabel) as the root filesystem, holding /home, /var, /etc/ssh
# host keys, the nix database and the writable store overlay (/nix/.rw-store) that keeps whatever a
# user builds or installs inside the VM.
{ config, lib, pkgs, guest, ... }:
let
  # nix-store --verify, with exit 1 for paths still used by what the VM built accepted (the script
  # says why).
  guest-store-verify = pkgs.writeShellApplication {
    name = "guest-store-verify";
    runtimeInputs = [ config.nix.package pkgs.gnugrep ];
    text = builtins.readFile ../scripts/guest-store-verify;
  };
in
{
  system.stateVersion = "26.05";
  networking.hostName = guest.hostName;

  microvm = guest.microvm;
  fileSystems."/" = guest.rootFileSystem // { neededForBoot = true; };

  # systemd-networkd with the slot's static address, gateway and resolvers.
  networking.useNetworkd = true;
  networking.useDHCP = false;
  networking.nameservers = guest.nameservers;
  systemd.network.enable = true;
  systemd.network.networks."10-slot" = guest.network;
  services.resolved.enable = true;

  services.openssh = import ../lib/openssh.nix;
  users.users.root.openssh.authorizedKeys.keys = guest.sshKeys;
  users.users.${guest.adminUser} = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = guest.sshKeys;
  };
  security.sudo.wheelNeedsPassword = false;

  # nix with flakes, so `nixos-rebuild` and `nix build` work inside the VM; what they build lands in
  # the writable overlay on the state and survives restarts and migrations.
  nix.settings.experimental-features = [ "nix-command" "flakes" ];
  # The erofs image changes with every host rebuild; drop database entries for paths that left it
  # (an entry still used by something built in the VM stays, and the unit still succeeds).
  systemd.services.nix-store-verify = {
    description = "Forget store paths that are no longer in the read-only store image";
    wantedBy = [ "multi-user.target" ];
    after = [ "local-fs.target" ];
    before = [ "nix-daemon.service" ];
    serviceConfig = { Type = "oneshot"; ExecStart = lib.getExe guest-store-verify; };
  };
  documentation.enable = lib.mkDefault false;
}
