#!/usr/bin/env bash
# Usage: tailnet-targets.sh --output FILE PORT HOST=TAILNETNAME...
#
# On the collector of a fleet: where to scrape the other hosts' node exporters over the tailnet, as
# a Prometheus file_sd file (docs/observability.md). Each HOST (its name in the stack) is the tailnet
# peer whose HostName is TAILNETNAME (the --hostname it joined with, lib/tailscale.nix; the peer's
# MagicDNS name may carry a suffix, its HostName does not), online peers first; its first tailnet
# IPv4 address becomes the target ADDRESS:PORT with the label host=HOST. The hosts do not use
# MagicDNS (--accept-dns=false), so the addresses come from `tailscale status --json` (Peer[].HostName,
# .TailscaleIPs, .Online). A host the tailnet does not know (yet) is still listed, by its tailnet
# name: Prometheus fails to reach it, so its `up` is 0 and the host-unreachable alert fires instead
# of the host silently disappearing from the scrape.
#
# FILE is written atomically; Prometheus re-reads it when it changes.
# Environment: TAILSCALE, the command run (tailscale).
# Exit codes: 0 ok, 1 FILE could not be written, 2 usage.
set -euo pipefail
shopt -s inherit_errexit

# write_output: metrics-lib.bash beside this file, sourced here when run from a checkout; the
# observability module concatenates it in front of this file.
if ! declare -F write_output >/dev/null; then
  # shellcheck source-path=SCRIPTDIR source=metrics-lib.bash disable=SC1091
  source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/metrics-lib.bash"
fi

usage() {
  echo "Usage: tailnet-targets.sh --output FILE PORT HOST=TAILNETNAME..." >&2
  exit 2
}
log() { printf 'tailnet-targets: %s\n' "$*" >&2; }

[[ $# -ge 4 && $1 == --output && $2 == /* && $3 =~ ^[0-9]{1,5}$ ]] || usage
output=$2 port=$3
shift 3
pairs=()
for arg in "$@"; do
  # Host names and tailnet names follow the stack's name and DNS label rules: nothing to quote.
  [[ $arg =~ ^[a-z][a-z0-9-]*=[a-z0-9][a-z0-9-]*$ ]] || usage
  pairs+=("$arg")
done

status=$("${TAILSCALE:-tailscale}" status --json 2>/dev/null) || status='{}'
targets=$(jq -n --argjson status "$(jq -c . <<<"$status" 2>/dev/null || echo '{}')" --arg port "$port" --args '
  [ ($status.Peer // {}) | to_entries[].value ] as $peers
  | [ $ARGS.positional[] | split("=") as [$host, $name]
      | ([ $peers[] | select(.HostName == $name) ] | sort_by(if .Online then 0 else 1 end)
         | map(.TailscaleIPs // [] | map(select(test("^[0-9.]+$"))) | first) | map(select(. != null)) | first) as $address
      | { targets: [ "\($address // $name):\($port)" ], labels: { host: $host } } ]' "${pairs[@]}")
if ! printf '%s\n' "$targets" | write_output "$output"; then
  log "could not write $output"
  exit 1
fi
