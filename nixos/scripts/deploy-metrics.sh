#!/usr/bin/env bash
# Usage: deploy-metrics.sh [--output FILE]
#
# The host's deployment as Prometheus metrics (text format 0.0.4), for the node exporter's textfile
# collector (docs/observability.md; the families are lib/metrics/microvm-host.json):
#   - the NixOS generation the system profile points at, and when that generation was made;
#   - the last switch the deployment ran (components/deploy/remote/switch.sh): when it ended and
#     whether it succeeded, which means `nixos-rebuild switch` and the health check (sshd,
#     tailscaled, every slot with a state active) both passed; a failed one was rolled back.
#     Each switch leaves STATE_DIR/switches/<bundle hash>/rc (its exit status, written last).
# Read-only. FILE is written atomically; without --output, stdout.
# Environment (the deployment's own names, so the tests set them the same way):
#   MICROVM_INFRA_STATE_DIR        /var/lib/microvm-infra
#   MICROVM_INFRA_SYSTEM_PROFILE   /nix/var/nix/profiles/system
# Exit codes: 0 ok, 1 the output could not be written, 2 usage.
set -euo pipefail
shopt -s inherit_errexit nullglob

# family, label, sample, write_output: metrics-lib.bash beside this file, sourced here when run from
# a checkout; the observability module concatenates it in front of this file.
if ! declare -F family >/dev/null; then
  # shellcheck source-path=SCRIPTDIR source=metrics-lib.bash disable=SC1091
  source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/metrics-lib.bash"
fi

usage() {
  echo "Usage: deploy-metrics.sh [--output FILE]" >&2
  exit 2
}
log() { printf 'deploy-metrics: %s\n' "$*" >&2; }

output=-
if [[ ${1:-} == --output ]]; then
  [[ $# -eq 2 && $2 == /* ]] || usage
  output=$2
  shift 2
fi
[[ $# -eq 0 ]] || usage
state_dir=${MICROVM_INFRA_STATE_DIR:-/var/lib/microvm-infra}
profile=${MICROVM_INFRA_SYSTEM_PROFILE:-/nix/var/nix/profiles/system}

# The profile is a link to system-<N>-link, beside it; the generation's own link was made when it was.
generation='' generation_time=''
target=$(readlink "$profile" 2>/dev/null || true)
if [[ ${target##*/} =~ ^system-([0-9]+)-link$ ]]; then
  generation=${BASH_REMATCH[1]}
  generation_time=$(stat -c %Y "${profile%/*}/${target##*/}" 2>/dev/null || true)
fi

# The newest finished switch: the rc file written last.
last_rc='' last_time='' last_bundle='' newest=0
for rc in "$state_dir"/switches/*/rc; do
  t=$(stat -c %Y "$rc" 2>/dev/null) || continue
  if ((t >= newest)); then
    newest=$t last_time=$t last_rc=$(<"$rc") last_bundle=${rc%/rc}
    last_bundle=${last_bundle##*/}
  fi
done

render() {
  family microvm_deploy_generation gauge "The NixOS generation the system profile points at"
  if [[ -n $generation ]]; then sample microvm_deploy_generation "" "$generation"; fi
  family microvm_deploy_generation_timestamp_seconds gauge "When that generation was made (Unix time)"
  if [[ -n $generation_time ]]; then sample microvm_deploy_generation_timestamp_seconds "" "$generation_time"; fi
  family microvm_deploy_last_switch_timestamp_seconds gauge "When the deployment's last switch ended (Unix time)"
  if [[ -n $last_time ]]; then sample microvm_deploy_last_switch_timestamp_seconds "" "$last_time"; fi
  family microvm_deploy_last_switch_success gauge "1 when the last switch succeeded (nixos-rebuild switch and the health check passed), 0 when it failed (the running system was kept, or rolled back)"
  if [[ -n $last_time ]]; then
    sample microvm_deploy_last_switch_success "$(label bundle "${last_bundle:0:16}")" "$([[ $last_rc == 0 ]] && echo 1 || echo 0)"
  fi
}

if ! render | write_output "$output"; then
  log "could not write $output"
  exit 1
fi
