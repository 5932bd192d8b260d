#!/bin/sh
# microvm-infra: wait for the host to join the tailnet, then print what it reports about itself.
#   join-wait.sh HOSTNAME TIMEOUT_SECONDS POLL_SECONDS
# Polls `tailscale status --json --peers=false` until the backend is "Running" (the node has joined
# and is authorized), prints that JSON and exits 0; after TIMEOUT_SECONDS it says why on stderr
# and exits 1. Peers are left out, so the output holds nothing about other machines.
set -eu
hostname=$1 timeout=$2 poll=$3
PATH=/run/current-system/sw/bin:$PATH
deadline=$(($(date +%s) + timeout))
while :; do
  if status=$(tailscale status --json --peers=false 2>/dev/null) && printf '%s' "$status" | grep -q '"BackendState": *"Running"'; then
    printf '%s\n' "$status"
    exit 0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "tailscale: the host did not join the tailnet as $hostname within ${timeout}s. Its state:" >&2
    tailscale status >&2 || true
    echo 'Look at: journalctl -u tailscaled -u tailscaled-autoconnect. An expired or already used auth key needs a new one (docs/tailscale.md: "The auth key").' >&2
    exit 1
  fi
  sleep "$poll"
done
