#!/usr/bin/env bash
# microvm-infra: make the slots run their assigned states (`vm-state apply -` with the whole map on
# stdin), then check each slot: its microvm@SLOT.service active and its VM answering on its address.
#   apply-slots.sh SLOT=ADDRESS...      stdin: {"slots": {"SLOT": "STATE", ...}}
# Environment overrides (tests): MICROVM_INFRA_VM_STATE (vm-state), MICROVM_INFRA_SYSTEMCTL
# (systemctl), MICROVM_INFRA_PROBE (ping -c 1 -W 2; run with the address, success = it answers),
# MICROVM_INFRA_SLOT_TIMEOUT (180 s per slot), MICROVM_INFRA_POLL (2 s).
set -euo pipefail
vm_state=${MICROVM_INFRA_VM_STATE:-vm-state}
systemctl=${MICROVM_INFRA_SYSTEMCTL:-systemctl}
read -r -a probe <<<"${MICROVM_INFRA_PROBE:-ping -c 1 -W 2}"
timeout=${MICROVM_INFRA_SLOT_TIMEOUT:-180}
poll=${MICROVM_INFRA_POLL:-2}
log() { printf 'microvm-infra: %s\n' "$*" >&2; }

"$vm_state" apply -
failed=()
slots=()
for pair in "$@"; do
  slot=${pair%%=*} address=${pair#*=}
  slots+=("$slot")
  deadline=$((SECONDS + timeout))
  until "$systemctl" is-active --quiet "microvm@$slot.service" && "${probe[@]}" "$address" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      failed+=("$slot ($address)")
      break
    fi
    sleep "$poll"
  done
done
if ((${#failed[@]} > 0)); then
  log "not running or not answering after ${timeout}s: ${failed[*]} (see: journalctl -u microvm@SLOT)"
  exit 1
fi
log "slots running and answering: ${slots[*]}"
