#!/usr/bin/env bash
# microvm-infra acceptance: one probe from a slot's network, as its VM would send it. Runs on the
# host, as root. Puts a network namespace on the slot's bridge (a veth whose host end joins the
# bridge, like the VM's tap), with an address of the slot's subnet and the slot's gateway as its
# route, tries one thing from there, and removes the namespace again.
#   probe.sh BRIDGE ADDRESS/PREFIX GATEWAY ping ADDRESS     an ICMP echo answered
#   probe.sh BRIDGE ADDRESS/PREFIX GATEWAY tcp HOST:PORT    a TCP connection accepted
#   probe.sh BRIDGE ADDRESS/PREFIX GATEWAY https DOMAIN     an HTTPS answer (any status), the name
#                                                            resolved as a VM resolves it (its gateway's
#                                                            resolver, else a public one through NAT)
# Exit 0: it got through; 1: it did not; 2: bad arguments or the namespace could not be made.
# ACCEPTANCE_CURL: the curl binary (the host has none of its own: acceptance/run.sh builds one
# from the host flake's nixpkgs).
set -euo pipefail
shopt -s inherit_errexit

usage() { echo "Usage: probe.sh BRIDGE ADDRESS/PREFIX GATEWAY ping|tcp|https TARGET" >&2; exit 2; }
(($# == 5)) || usage
bridge=$1 cidr=$2 gateway=$3 kind=$4 target=$5
[[ $bridge =~ ^[A-Za-z0-9._-]{1,15}$ && $cidr =~ ^[0-9.]+/[0-9]+$ && $gateway =~ ^[0-9.]+$ ]] || usage
[[ -d /sys/class/net/$bridge/bridge ]] || { echo "probe: $bridge is not a bridge on this host" >&2; exit 2; }

ns=acc-probe-$$
outer=acp$$
outer=${outer:0:15}
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() { ip netns delete "$ns" 2>/dev/null || true; ip link delete "$outer" 2>/dev/null || true; rm -rf "/etc/netns/$ns"; }
trap cleanup EXIT
ip netns add "$ns" || exit 2
ip link add "$outer" type veth peer name eth0 netns "$ns" || exit 2
ip link set "$outer" master "$bridge" up
ip -n "$ns" link set lo up
ip -n "$ns" link set eth0 up
ip -n "$ns" addr add "$cidr" dev eth0
ip -n "$ns" route add default via "$gateway"
# `ip netns exec` bind-mounts this over /etc/resolv.conf inside the namespace.
mkdir -p "/etc/netns/$ns"
printf 'nameserver %s\nnameserver 1.1.1.1\noptions timeout:2 attempts:1\n' "$gateway" >"/etc/netns/$ns/resolv.conf"
# The bridge forwards once the new port has passed its forwarding delay.
for _ in $(seq 50); do
  [[ $(cat "/sys/class/net/$outer/brport/state" 2>/dev/null) == 3 ]] && break
  sleep 0.1
done

inside() { ip netns exec "$ns" "$@"; }
# through KIND TARGET: whether the probe gets through (its tools' own codes, timeout's 124 among
# them, all mean "no").
through() {
  case $1 in
    ping) inside ping -c 1 -W 2 "$2" ;;
    tcp)
      [[ $2 =~ ^([0-9.]+):([0-9]+)$ ]] || usage
      # shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
      inside timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
      ;;
    https)
      [[ $2 =~ ^[A-Za-z0-9.-]+$ ]] || usage
      local code
      code=$(inside "${ACCEPTANCE_CURL:-curl}" -sS -o /dev/null -w '%{http_code}' --max-time 15 "https://$2/") || return 1
      [[ $code =~ ^[1-5][0-9][0-9]$ ]]
      ;;
    *) usage ;;
  esac
}
if through "$kind" "$target"; then
  exit 0
fi
exit 1
