# The host is an EC2 Graviton .metal instance booted from the official NixOS AMI. amazon-image.nix
# keeps what the AMI set up after the switch: the EFI boot loader, growing the root disk, and EC2
# user data (fetched to /etc/ec2-metadata, including the SSH_HOST_*_KEY lines that pin the host key).
{ modulesPath, ... }:
{
  imports = [ "${modulesPath}/virtualisation/amazon-image.nix" ];
  # The aarch64 NixOS AMIs boot with UEFI.
  ec2.efi = true;
  nixpkgs.hostPlatform = "aarch64-linux";
}
