# vm-state, the host's state manager (docs/vm-state.md): the TypeScript build that the deploy bundle
# carries as scripts/vm-state.js (components/deploy/bundle.ts builds it with esbuild when the bundle
# is made), run by nixpkgs' Node. Nothing is installed from npm on the host: the build is one file
# with no dependency outside Node's own modules.
#
# `pkgs.nodejs` is Node 24 in the pinned nixpkgs (flake.lock: nixos-26.05,
# b18a4b905f8d028dc4476412e6d6891728695379): NixOS/nixpkgs doc/release-notes/rl-2605.section.md,
# "Node.js default version has been updated from 22 LTS to 24 LTS". vm-state/build.ts targets the
# older of that and the repository's Node 22 (nodeTargets there).
#
# Until the fleet commands are ported (issue 19), the build hands them to the bash implementation,
# scripts/vm-state.d/*.bash concatenated here as `vm-state-fleet-bash` (its own runtime inputs: jq,
# GNU tar...), found through VM_STATE_LEGACY (vm-state/src/fleet/legacy.ts). Delete that part with
# legacy.ts.
#
# Arguments: pkgs, lib; zfs (the ZFS package, or null off the zfs backend); bundle, the build
# (a path: copied into the store; the tests pass a string); fleetBash, the bash parts in order.
# Returns { vm-state, fleet-bash } (tests/bats/vm-state/package.bats evaluates it).
{ pkgs, lib, zfs ? null, bundle, fleetBash }:
let
  zfsInputs = lib.optional (zfs != null) zfs;
  # cloud-hypervisor: ch-remote pauses a running VM for a consistent snapshot (files, xfs).
  # openssh, gnutar: the fleet commands (ssh to the other hosts; tar --sparse streams on files/xfs).
  fleet-bash = pkgs.writeShellApplication {
    name = "vm-state-fleet-bash";
    runtimeInputs = with pkgs; [ jq util-linux coreutils e2fsprogs systemd cloud-hypervisor openssh gnutar gnused gnugrep ] ++ zfsInputs;
    text = lib.concatMapStrings builtins.readFile fleetBash;
  };
in
{
  inherit fleet-bash;
  vm-state = pkgs.writeShellApplication {
    name = "vm-state";
    # util-linux: flock (the lock), mount; coreutils: cp --sparse (copies without reflinks);
    # e2fsprogs: mkfs.ext4, e2label; systemd: systemctl, journalctl; cloud-hypervisor: ch-remote.
    runtimeInputs = with pkgs; [ util-linux coreutils e2fsprogs systemd cloud-hypervisor openssh ] ++ zfsInputs;
    text = ''
      export VM_STATE_LEGACY="''${VM_STATE_LEGACY:-${fleet-bash}/bin/vm-state-fleet-bash}"
      exec ${pkgs.nodejs}/bin/node ${bundle} "$@"
    '';
  };
}
