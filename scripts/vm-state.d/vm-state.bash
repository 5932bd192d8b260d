#!/usr/bin/env bash
# vm-state: owns the microVM states on the host and which slot runs which state.
#
# Called by hand by operators and over SSH by the Pulumi program (`apply -`).
# Deployment data: infra.json (docs/deployment-data.md). User docs: docs/vm-state.md.
#
# THE BASH IMPLEMENTATION, kept only for the fleet commands: `scripts/vm-state` runs the TypeScript
# build (vm-state/src), which hands fleet-pull, fleet-cancel, replicate, replica-promote,
# fleet-serve and `gc --fleet-moved` to this file (vm-state/src/fleet/legacy.ts) until they are
# ported; then this directory goes. tests/bats/vm-state/upgrade.bats reads the bash vm-state from
# git history, not from here.
#
# The code is in the files beside this one, one file per concern:
#   common.bash        messages, arguments, names, configuration, lock, journal, systemd, output
#   backend-files.bash the files and xfs backends (a state is a directory holding data.img)
#   backend-zfs.bash   the zfs backend (a state is a dataset)
#   fleet.bash         several hosts: moves (fleet-pull), replicas (replicate), fleet-serve
#   commands.bash      one cmd_<verb> per subcommand and the dispatch
# Each backend is a set of functions <backend>_<operation>, bound once after the configuration
# is loaded (use_backend); the commands call them through `be OPERATION ARGS...`.
# Run from a checkout (or the deploy bundle) this file sources those parts; the NixOS package
# (nixos/modules/hypervisor.nix, `vm-state-fleet-bash`) concatenates them in front of it, so they
# are already defined.
#
# Needs on PATH (the NixOS package lists these as runtimeInputs):
#   bash, coreutils (cp mv ln rm mkdir mktemp stat truncate readlink date sleep), jq,
#   util-linux (flock), e2fsprogs (mkfs.ext4), systemd (systemctl),
#   cloud-hypervisor (ch-remote: pause/resume for live snapshots on files/xfs),
#   openssh (ssh: the fleet commands), gnutar (tar --sparse: fleet transfers on files/xfs),
#   zfs (only with the zfs backend).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
shopt -s inherit_errexit nullglob
export LC_ALL=C

if ! declare -F vm_state_main >/dev/null; then
  VM_STATE_LIB=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
  # shellcheck source=common.bash disable=SC1091
  source "$VM_STATE_LIB/common.bash"
  # shellcheck source=backend-files.bash disable=SC1091
  source "$VM_STATE_LIB/backend-files.bash"
  # shellcheck source=backend-zfs.bash disable=SC1091
  source "$VM_STATE_LIB/backend-zfs.bash"
  # shellcheck source=fleet.bash disable=SC1091
  source "$VM_STATE_LIB/fleet.bash"
  # shellcheck source=commands.bash disable=SC1091
  source "$VM_STATE_LIB/commands.bash"
fi

PROG=vm-state
EX_ERROR=1 EX_USAGE=2 EX_BUSY=3 EX_CONFLICT=4

CONFIG=${VM_STATE_CONFIG:-/etc/microvm-infra/infra.json}
ROOT=${VM_STATE_ROOT:-/var/lib/microvms}
SYSTEMCTL=${VM_STATE_SYSTEMCTL:-systemctl}
ZFS=${VM_STATE_ZFS:-zfs}
CH_REMOTE=${VM_STATE_CH_REMOTE:-ch-remote}
JOURNALCTL=${VM_STATE_JOURNALCTL:-journalctl}
LOCK=${VM_STATE_LOCK:-$ROOT/.vm-state.lock}
LOCK_WAIT=${VM_STATE_LOCK_WAIT:-30}
START_TIMEOUT=${VM_STATE_START_TIMEOUT:-60}
STATES=$ROOT/states
JOURNAL=$ROOT/.vm-state-journal.json
# Written by vm-state versions before the journal was shared by every command.
LEGACY_JOURNAL=$ROOT/.vm-state-apply.json

vm_state_main "$@"
