#!/usr/bin/env bash
# microvm-infra: put a state on the host this runs on, in a fleet of several hosts. Pulumi runs it
# on the state's host whenever that changes (the host's name is an argument): if another host of
# the fleet holds the state, vm-state pulls it from there (a snapshot sent while its VM runs,
# then a short stop for the rest); if it is here already, or nowhere yet (VmState creates it),
# nothing moves.
#   place-state.sh STATE HOST
# Environment override (tests): MICROVM_INFRA_VM_STATE (vm-state).
set -euo pipefail
state=${1:?usage: place-state.sh STATE HOST}
host=${2:?usage: place-state.sh STATE HOST}
vm_state=${MICROVM_INFRA_VM_STATE:-vm-state}
"$vm_state" fleet-pull "$state" --from-any
printf 'microvm-infra: state %s is on host %s\n' "$state" "$host" >&2
