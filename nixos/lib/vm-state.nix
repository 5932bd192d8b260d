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
# Arguments: pkgs, lib; zfs (the ZFS package, or null off the zfs backend); bundle, the build
# (a path: copied into the store; the tests pass a string).
# Returns { vm-state } (tests/bats/vm-state/package.bats evaluates it).
{ pkgs, lib, zfs ? null, bundle }:
let
  zfsInputs = lib.optional (zfs != null) zfs;
  paths = import ./paths.nix;
in
{
  vm-state = pkgs.writeShellApplication {
    name = "vm-state";
    # util-linux: flock (the lock), mount; coreutils: cp --sparse (copies without reflinks);
    # e2fsprogs: mkfs.ext4, e2label; systemd: systemctl, journalctl; cloud-hypervisor: ch-remote
    # (pauses a running VM for a consistent snapshot on files/xfs); openssh, rsync, rrsync: the
    # fleet commands (ssh to the other hosts; files/xfs images move by rsync, and fleet-serve hands
    # an rsync request to rrsync, which runs pkgs.rsync itself: ../rules/runtime.json rrsync).
    runtimeInputs = with pkgs; [ util-linux coreutils e2fsprogs systemd cloud-hypervisor openssh rsync rrsync ] ++ zfsInputs;
    # NODE_COMPILE_CACHE (Node >= 22.1; the host's is 24): V8's compiled code for the bundle, in a
    # directory only root can write (tmpfiles in modules/hypervisor.nix); Node skips it quietly where
    # it cannot be written (a user's `vm-state help`), and a new bundle misses it (hash of the source).
    text = ''
      export NODE_COMPILE_CACHE=${paths.vmStateCompileCache}
      exec ${pkgs.nodejs}/bin/node ${bundle} "$@"
    '';
  };
}
