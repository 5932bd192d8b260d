#!/usr/bin/env bash
# microvm-infra switch job: run detached by switch.sh (a transient systemd unit), from the bundle.
# `nixos-rebuild switch`, then the health check; on failure, roll back if a new generation was made.
# Writes its exit status to RUN/rc last, and holds RUN/lock while it runs (that is how a later
# launcher knows it is still running).
#   switch-job.sh BUNDLE RUN TAILSCALE(0|1) SLOT...
# Environment overrides (tests): see switch.sh.
set -uo pipefail
bundle=$1 run=$2 tailscale=$3
shift 3
slots=("$@")
rebuild=${MICROVM_INFRA_NIXOS_REBUILD:-nixos-rebuild}
nix=${MICROVM_INFRA_NIX:-nix}
systemctl=${MICROVM_INFRA_SYSTEMCTL:-systemctl}
profile=${MICROVM_INFRA_SYSTEM_PROFILE:-/nix/var/nix/profiles/system}
current=${MICROVM_INFRA_CURRENT_SYSTEM:-/run/current-system}
slots_root=${VM_STATE_ROOT:-/var/lib/microvms}
health_timeout=${MICROVM_INFRA_HEALTH_TIMEOUT:-300}
poll=${MICROVM_INFRA_POLL:-2}
flake_attr=hypervisor
export NIX_CONFIG="extra-experimental-features = nix-command flakes"

# Blocking with a limit: a launcher checking whether the job runs holds the lock for an instant.
exec 9>"$run/lock"
flock -w 30 9 || exit 0
exec >>"$run/log" 2>&1 </dev/null

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
finish() {
  printf '%s\n' "$1" >"$run/rc.tmp"
  mv -f "$run/rc.tmp" "$run/rc"
  exit "$1"
}

# sshd, tailscaled (if enabled) and every slot that has a state must be active.
healthy() {
  local units=(sshd.service) slot unit bad deadline=$((SECONDS + health_timeout))
  if [[ $tailscale == 1 ]]; then units+=(tailscaled.service); fi
  for slot in "${slots[@]}"; do
    if [[ -L $slots_root/$slot/data.img ]]; then
      units+=("microvm@$slot.service")
    else
      say "$slot has no state yet: not checked here (vm-state apply starts it)"
    fi
  done
  while :; do
    bad=()
    for unit in "${units[@]}"; do
      "$systemctl" is-active --quiet "$unit" || bad+=("$unit")
    done
    if ((${#bad[@]} == 0)); then
      say "healthy: ${units[*]}"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      say "not active after ${health_timeout}s: ${bad[*]}"
      return 1
    fi
    sleep "$poll"
  done
}

# Every slot that declares guest modules must evaluate before anything switches, and a failure
# names the slot and its modules (a plain build error names neither).
guests_evaluate() {
  local slot modules out ok=0
  while IFS=$'\t' read -r slot modules; do
    [[ -n $slot ]] || continue
    if ! out=$("$nix" eval --raw "path:$bundle?dir=nixos#nixosConfigurations.$flake_attr.config.microvm.vms.$slot.config.config.system.build.toplevel.drvPath" 2>&1 >/dev/null); then
      say "slot $slot (modules: $modules) does not evaluate:"
      printf '%s\n' "$out" | tail -n 20
      ok=1
    fi
  done < <(jq -r '.slots[] | select((.modules // []) | length > 0) | [.name, (.modules | join(", "))] | @tsv' "$bundle/nixos/infra.json")
  return "$ok"
}

say "switching to bundle ${bundle##*/}"
if ! guests_evaluate; then
  say "nothing was switched: the running system is unchanged"
  finish 1
fi
before=$(readlink "$profile" || true)
if "$rebuild" switch --flake "path:$bundle?dir=nixos#$flake_attr"; then
  if healthy; then
    readlink -f "$current" >"$run/system"
    say "switched"
    finish 0
  fi
  say "health check failed"
else
  say "nixos-rebuild switch failed"
fi
after=$(readlink "$profile" || true)
if [[ $after != "$before" ]]; then
  say "rolling back to the previous generation (${before:-none})"
  if "$rebuild" switch --rollback; then
    say "rolled back"
  else
    say "ROLLBACK FAILED: the host runs $(readlink -f "$current"); see the lines above"
  fi
else
  say "no new generation was made: the running system is unchanged"
fi
finish 1
