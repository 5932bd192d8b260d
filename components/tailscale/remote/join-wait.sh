#!/bin/sh
# microvm-infra: wait for the host to join the tailnet, then print what it reports about itself.
#   join-wait.sh HOSTNAME TIMEOUT_SECONDS POLL_SECONDS
# Polls `tailscale status --json --peers=false` until the backend is "Running" (the node has joined
# and is authorized), prints that JSON and exits 0; after TIMEOUT_SECONDS it says why on stderr
# and exits 1. Whatever it prints lands in Pulumi's and CI's logs, so it holds this host's own
# state only: never another machine of the tailnet (a plain `tailscale status` lists every peer),
# never the login URL of a node waiting to be authorized (whoever reads the log could claim it).
set -eu
hostname=$1 timeout=$2 poll=$3
PATH=/run/current-system/sw/bin:$PATH
deadline=$(($(date +%s) + timeout))

# This host's own state from `tailscale status --json --peers=false` on stdin, field by field:
# the backend state, its health messages, its name, whether it is online, its tailnet addresses.
own_state() {
  jq -r '
    "  backend state: \(.BackendState // "unknown")",
    ((.Health // [])[] | "  health: \(.)"),
    "  this host: \(.Self.HostName // "-"), online: \(.Self.Online // false), addresses: \((.Self.TailscaleIPs // []) | join(" ") | if . == "" then "none" else . end)"'
}

while :; do
  if status=$(tailscale status --json --peers=false 2>/dev/null) && printf '%s' "$status" | grep -q '"BackendState": *"Running"'; then
    printf '%s\n' "$status"
    exit 0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "tailscale: the host did not join the tailnet as $hostname within ${timeout}s. Its own state:" >&2
    own=$(tailscale status --json --peers=false 2>/dev/null) || own=
    if [ -z "$own" ] || ! printf '%s\n' "$own" | own_state >&2; then
      echo "  (tailscale status --json gave no state that could be read: is tailscaled running?)" >&2
    fi
    echo 'Look at: journalctl -u tailscaled -u tailscaled-autoconnect. An expired or already used auth key needs a new one (docs/tailscale.md: "The auth key").' >&2
    exit 1
  fi
  sleep "$poll"
done
