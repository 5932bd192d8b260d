#!/usr/bin/env bash
# microvm-infra: take an uploaded bundle and switch the host to it. The deployment's command
# (Pulumi runs this file's text over SSH with its arguments set first; the tests run the same text).
#   switch.sh HASH TAILSCALE(0|1) SLOT...
# Takes the bundle's tar that Pulumi uploaded to STATE_DIR/incoming/HASH.tar into
# STATE_DIR/bundles/HASH unless it is there (checking the hash before a single file is used), then
# starts the switch detached (deploy/switch-job.sh from the bundle, in
# a transient systemd unit named after the hash) or attaches to the one already running for this
# hash, waits for its result and fails with the end of its log.
#
# Environment overrides, read on the host (the tests set them in their sshd's SetEnv); nothing
# secret is ever passed this way:
#   MICROVM_INFRA_STATE_DIR      /var/lib/microvm-infra   bundles, switch logs
#   MICROVM_INFRA_DETACH         systemd-run              or setsid (tests: no systemd)
#   MICROVM_INFRA_NIXOS_REBUILD  nixos-rebuild
#   MICROVM_INFRA_NIX            nix                      evaluates each slot's guest system first
#   MICROVM_INFRA_SYSTEMCTL      systemctl
#   MICROVM_INFRA_SYSTEM_PROFILE /nix/var/nix/profiles/system  compared before/after: roll back?
#   MICROVM_INFRA_CURRENT_SYSTEM /run/current-system
#   MICROVM_INFRA_SWITCH_TIMEOUT 4800   seconds to wait for the switch (it keeps running after)
#   MICROVM_INFRA_HEALTH_TIMEOUT 300    seconds the units have to become active after a switch
#   MICROVM_INFRA_POLL           2      seconds between polls
#   VM_STATE_ROOT                /var/lib/microvms        where the slots' data.img links are
set -euo pipefail
shopt -s nullglob
hash=${1:?usage: switch.sh HASH TAILSCALE SLOT...}
tailscale=${2:?usage: switch.sh HASH TAILSCALE SLOT...}
shift 2
slots=("$@")
[[ $hash =~ ^[0-9a-f]{64}$ ]] || { echo "microvm-infra: bundle hash must be 64 hex digits, got '$hash'" >&2; exit 2; }
state_dir=${MICROVM_INFRA_STATE_DIR:-/var/lib/microvm-infra}
detach=${MICROVM_INFRA_DETACH:-systemd-run}
wait_limit=${MICROVM_INFRA_SWITCH_TIMEOUT:-4800}
poll=${MICROVM_INFRA_POLL:-2}
current=${MICROVM_INFRA_CURRENT_SYSTEM:-/run/current-system}
bundle=$state_dir/bundles/$hash
run=$state_dir/switches/$hash
unit=microvm-infra-switch-${hash:0:16}
log() { printf 'microvm-infra: %s\n' "$*" >&2; }
umask 022
mkdir -p "$state_dir/bundles" "$state_dir/switches"

# The same manifest as bundle.ts: "MODE SHA256 PATH" per file, sorted by path.
manifest_hash() (
  cd "$1"
  find . -type f -printf '%P\n' | LC_ALL=C sort | while IFS= read -r f; do
    printf '%s %s %s\n' "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
  done | sha256sum | cut -d' ' -f1
)

incoming=$state_dir/incoming/$hash.tar
receive() {
  if [[ -d $bundle ]]; then
    rm -f "$incoming"
    log "bundle $hash is already on the host"
    return 0
  fi
  if [[ ! -f $incoming ]]; then
    log "the bundle was not uploaded: $incoming is missing; run pulumi up again (it uploads it first)"
    exit 1
  fi
  rm -rf "$state_dir/bundles/.tmp-$hash".*
  local tmp got
  tmp=$(mktemp -d "$state_dir/bundles/.tmp-$hash.XXXXXX")
  if ! tar -x -f "$incoming" -C "$tmp" --no-same-owner; then
    rm -rf "$tmp" "$incoming"
    log "the bundle uploaded to $incoming is not a readable tar; nothing was changed"
    exit 1
  fi
  got=$(manifest_hash "$tmp")
  if [[ $got != "$hash" ]]; then
    rm -rf "$tmp" "$incoming"
    log "the bundle received does not match its hash (got $got); nothing was changed"
    exit 1
  fi
  chmod 0755 "$tmp"
  mv -T "$tmp" "$bundle"
  rm -f "$incoming"
  log "bundle $hash received"
}

running() { ! flock -n "$run/lock" true; }

start() {
  local job=("$bundle/deploy/switch-job.sh" "$bundle" "$run" "$tailscale" "${slots[@]}")
  : >"$run/log"
  case $detach in
    systemd-run)
      systemd-run --unit="$unit" --description="microvm-infra: switch to bundle $hash" --collect --quiet \
        --setenv=PATH="$PATH" -- bash "${job[@]}" 8>&-
      ;;
    setsid)
      setsid -f bash "${job[@]}" </dev/null >>"$run/log" 2>&1 8>&-
      ;;
    *)
      log "MICROVM_INFRA_DETACH must be systemd-run or setsid, got '$detach'"
      exit 2
      ;;
  esac
  local i
  for ((i = 0; i < 300; i++)); do
    if running || [[ -f $run/rc ]]; then return 0; fi
    sleep 0.1
  done
  log "the switch job did not start; the end of its log:"
  tail -n 40 "$run/log" >&2
  exit 1
}

exec 8>"$state_dir/switches/.lock"
flock -w 600 8 || { log "another deploy holds $state_dir/switches/.lock"; exit 3; }
receive
mkdir -p "$run"
if running; then
  log "a switch to bundle $hash is already running ($unit); waiting for its result"
elif [[ -f $run/rc && $(<"$run/rc") == 0 && -f $run/system && $(readlink -f "$current") == "$(<"$run/system")" ]]; then
  log "the host already runs bundle $hash"
  exit 0
else
  if [[ -f $run/rc ]]; then
    mv -f "$run/log" "$run/log.$(date -u +%Y%m%d-%H%M%S)"
    rm -f "$run/rc" "$run/system"
  fi
  log "starting the switch to bundle $hash ($unit)"
  start
fi
exec 8>&-

began=$SECONDS
note=60
until [[ -f $run/rc ]]; do
  if ! running; then
    sleep 1
    [[ -f $run/rc ]] && break
    log "the switch job stopped without a result; the end of its log ($run/log):"
    tail -n 40 "$run/log" >&2
    exit 1
  fi
  waited=$((SECONDS - began))
  if ((waited >= wait_limit)); then
    log "still switching after ${wait_limit}s; it keeps running on the host ($unit). Run pulumi up again to wait for its result."
    exit 1
  fi
  sleep "$poll"
  if ((waited >= note)); then
    log "still switching ($((waited / 60)) min)"
    note=$((note + 60))
  fi
done
rc=$(<"$run/rc")
if [[ $rc == 0 ]]; then
  log "switched to bundle $hash"
  # Keep the five newest bundles; rollbacks use the system profile, not these sources.
  mapfile -t olds < <(find "$state_dir/bundles" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %p\n' | sort -rn | tail -n +6 | cut -d' ' -f2-)
  for old in "${olds[@]}"; do
    [[ $old == "$bundle" ]] && continue
    rm -rf "$old" "$state_dir/switches/${old##*/}"
  done
  exit 0
fi
log "the switch to bundle $hash failed; the end of its log ($run/log):"
tail -n 40 "$run/log" >&2
exit 1
