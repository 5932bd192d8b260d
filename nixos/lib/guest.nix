# infra -> slot (an entry of ./slot-defaults.nix) -> the per-slot values of a guest: what
# modules/guest.nix sets, as plain data.
# Builtins only, so tests can evaluate it against infra.json fixtures without nixpkgs.
infra: slot:
let
  paths = import ./paths.nix;
  readiness = import ./readiness.nix (import ./platform.nix).system;
  # By the slot's egress policy (lib/egress.nix): "internet" uses public resolvers through NAT
  # (infra.guest.nameservers, when the deployment data grows one, replaces them); "allowlist" its own
  # resolver on its gateway, which answers the allowlisted domains only; "none" has no DNS.
  nameservers =
    {
      internet = infra.guest.nameservers or [ "9.9.9.9" "149.112.112.112" ];
      allowlist = [ slot.gateway ];
      none = [ ];
    }.${slot.egress.policy};
in
{
  hostName = slot.name;

  microvm = {
    # Cloud Hypervisor: KVM on aarch64 and x86_64, virtio-only device model (docs/nixos.md).
    hypervisor = "cloud-hypervisor";
    # AF_VSOCK context ID: null on aarch64, where the guest cannot be told where to send systemd's
    # readiness notification (./readiness.nix says why); index + 2 where it can.
    vsock.cid = readiness.vsockCid slot.index;
    vcpu = slot.vcpu;
    mem = slot.memMiB;
    interfaces = [{ type = "tap"; id = slot.tap; mac = slot.mac; }];
    # The state's image, reached through the slot's symlink. vm-state creates it; microvm.nix must
    # not (it would create a regular file where the symlink belongs).
    volumes = [{
      image = paths.slotImage slot.name;
      autoCreate = false;
      mountPoint = null; # mounted by label as / (fileSystems below)
      size = slot.diskGiB * 1024;
    }];
    # Read-only erofs store image built with the guest, plus a writable overlay kept on the state.
    storeOnDisk = true;
    storeDiskType = "erofs";
    writableStoreOverlay = "/nix/.rw-store";
    shares = [ ];
  };

  # The state is the guest's root filesystem, found by label so it boots on any slot.
  rootFileSystem = {
    device = "/dev/disk/by-label/${infra.guest.dataLabel}";
    fsType = "ext4";
  };

  # systemd-networkd: the slot's static address on the NIC with the slot's MAC.
  network = {
    matchConfig.MACAddress = slot.mac;
    address = [ "${slot.address}/${toString slot.prefixLength}" ];
    gateway = [ slot.gateway ];
    dns = nameservers;
    networkConfig = { IPv6AcceptRA = false; LinkLocalAddressing = "no"; };
    linkConfig.RequiredForOnline = "routable";
  };
  inherit nameservers;

  sshKeys = infra.host.sshPublicKeys;
  adminUser = infra.host.adminUser;
}
