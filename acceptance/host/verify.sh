#!/usr/bin/env bash
# microvm-infra acceptance: checks a deployed host against what its stack config says. Runs on the
# host, as root (acceptance/run.sh uploads it next to probe.sh and runs it over SSH).
#   verify.sh < expected.json        (acceptance/expected.ts writes it from the stack config)
# expected.json:
#   {"bundleHash": HEX64,
#    "slots":  [{"name", "state", "address", "gateway", "prefixLength", "bridge",
#                "egress": {"policy": "internet"|"none"|"allowlist", "domains": [...]}}, ...],
#    "states": [{"name", "snapshots": [...]}, ...],
#    "probes": {"internet": DOMAIN, "denied": DOMAIN, "rawIp": IPV4}}
# What it checks, one line each ("ok   ..." or "FAIL ..."), every check even after a failure:
#   the host switched to the bundle; every slot's VM running (microvm@SLOT) and answering the host;
#   from each slot's network (probe.sh, on the slot's bridge): no other slot, no instance metadata,
#   no SSH on its gateway; the internet per its egress policy (allowlist: its domains over HTTPS,
#   nothing else); vm-state: each slot runs the state the config says, the states are exactly the
#   configured ones, with their snapshots.
# Exit: 0 all ok, 1 a check failed, 2 unusable input.
# Overrides (the tests' fakes; defaults are the host's own):
#   MICROVM_INFRA_STATE_DIR /var/lib/microvm-infra   MICROVM_INFRA_CURRENT_SYSTEM /run/current-system
#   MICROVM_INFRA_SYSTEMCTL systemctl   MICROVM_INFRA_VM_STATE vm-state
#   MICROVM_INFRA_PROBE "ping -c 1 -W 2" (ADDRESS: answers the host)
#   ACCEPTANCE_SLOT_PROBE probe.sh beside this script (BRIDGE ADDRESS/PREFIX GATEWAY KIND TARGET)
# shellcheck disable=SC2016 # jq programs, single-quoted on purpose
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "$0")" && pwd)
state_dir=${MICROVM_INFRA_STATE_DIR:-/var/lib/microvm-infra}
current=${MICROVM_INFRA_CURRENT_SYSTEM:-/run/current-system}
systemctl=${MICROVM_INFRA_SYSTEMCTL:-systemctl}
vm_state=${MICROVM_INFRA_VM_STATE:-vm-state}
read -r -a host_probe <<<"${MICROVM_INFRA_PROBE:-ping -c 1 -W 2}"
slot_probe=${ACCEPTANCE_SLOT_PROBE:-$here/probe.sh}

usage_error() { echo "verify: $*" >&2; exit 2; }

expected=$(cat)
shape='type == "object" and (.bundleHash | type == "string" and test("^[0-9a-f]{64}$")) and (.slots | type == "array" and length > 0)
  and (.states | type == "array") and (.probes.internet | type == "string") and (.probes.denied | type == "string")
  and (.probes.rawIp | type == "string")'
if [[ ! $expected =~ [^[:space:]] ]] || ! jq -e "$shape" <<<"$expected" >/dev/null 2>&1; then
  usage_error "expected JSON on stdin: {bundleHash, slots: [...], states: [...], probes: {internet, denied, rawIp}} (acceptance/expected.ts)"
fi

failed=0
check() { # DESCRIPTION COMMAND...: the check passes when COMMAND succeeds
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then
    printf 'ok   %s\n' "$what"
  else
    printf 'FAIL %s\n' "$what"
    failed=1
  fi
}
refused() { # DESCRIPTION COMMAND...: the check passes when COMMAND fails (something must not be reachable)
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then
    printf 'FAIL %s\n' "$what"
    failed=1
  else
    printf 'ok   %s\n' "$what"
  fi
}

# --- the host switched to the bundle Pulumi deployed
hash=$(jq -r .bundleHash <<<"$expected")
switched() {
  local run=$state_dir/switches/$hash
  [[ -f $run/rc && $(<"$run/rc") == 0 && -f $run/system && $(readlink -f "$current") == "$(<"$run/system")" ]]
}
check "the host runs the system of bundle ${hash:0:12}" switched

# --- every slot: its VM runs and answers the host
# One record per slot, read once: NAME STATE ADDRESS GATEWAY PREFIX BRIDGE POLICY DOMAINS (space-separated).
names=() states=() addresses=() gateways=() prefixes=() bridges=() policies=() domain_lists=()
while IFS=$'\t' read -r name state address gateway prefix bridge policy domain_list; do
  names+=("$name") states+=("$state") addresses+=("$address") gateways+=("$gateway") prefixes+=("$prefix")
  bridges+=("$bridge") policies+=("$policy") domain_lists+=("$domain_list")
done < <(jq -r '.slots[] | [.name, .state, .address, .gateway, (.prefixLength | tostring), .bridge, (.egress.policy // "internet"),
                           ([.egress.domains[]? | select(startswith("*.") | not)] | join(" "))] | @tsv' <<<"$expected")
for i in "${!names[@]}"; do
  check "${names[i]}: microvm@${names[i]} is running" "$systemctl" is-active --quiet "microvm@${names[i]}.service"
  check "${names[i]}: its VM answers the host at ${addresses[i]}" "${host_probe[@]}" "${addresses[i]}"
done

# --- from each slot's network: isolation and egress
# The probe sits on the slot's bridge with the address after the VM's (inside the slot's subnet,
# so the host's anti-spoofing rule lets it through, as it lets the VM).
internet=$(jq -r .probes.internet <<<"$expected")
denied=$(jq -r .probes.denied <<<"$expected")
raw_ip=$(jq -r .probes.rawIp <<<"$expected")
for i in "${!names[@]}"; do
  name=${names[i]} address=${addresses[i]}
  from=("${bridges[i]}" "${address%.*}.$((${address##*.} + 1))/${prefixes[i]}" "${gateways[i]}")
  for j in "${!names[@]}"; do
    if ((j == i)); then continue; fi
    refused "$name: cannot reach ${names[j]}'s VM (${addresses[j]})" "$slot_probe" "${from[@]}" ping "${addresses[j]}"
  done
  refused "$name: cannot reach the instance metadata service" "$slot_probe" "${from[@]}" tcp 169.254.169.254:80
  refused "$name: cannot reach SSH on its gateway (the host)" "$slot_probe" "${from[@]}" tcp "${gateways[i]}:22"
  case ${policies[i]} in
    internet)
      check "$name: reaches the internet (https://$internet)" "$slot_probe" "${from[@]}" https "$internet"
      ;;
    none)
      refused "$name: egress none: cannot reach https://$internet" "$slot_probe" "${from[@]}" https "$internet"
      refused "$name: egress none: cannot reach $raw_ip:443" "$slot_probe" "${from[@]}" tcp "$raw_ip:443"
      ;;
    allowlist)
      read -r -a domains <<<"${domain_lists[i]}"
      for domain in "${domains[@]}"; do
        check "$name: allowlist: reaches https://$domain" "$slot_probe" "${from[@]}" https "$domain"
      done
      refused "$name: allowlist: cannot reach https://$denied (not listed)" "$slot_probe" "${from[@]}" https "$denied"
      refused "$name: allowlist: cannot reach $raw_ip:443 by address" "$slot_probe" "${from[@]}" tcp "$raw_ip:443"
      ;;
    *) usage_error "$name: unknown egress policy '${policies[i]}'" ;;
  esac
done

# --- vm-state lists what the config says
if status=$("$vm_state" status --json 2>/dev/null) && jq -e '.slots and .states' <<<"$status" >/dev/null 2>&1; then
  running=$(jq -r '.slots[] | "\(.name)=\(.state)"' <<<"$status")
  for i in "${!names[@]}"; do
    check "${names[i]}: vm-state says it runs state ${states[i]}" grep -qxF "${names[i]}=${states[i]}" <<<"$running"
  done
  listed=$(jq -c '[.states[].name] | sort' <<<"$status")
  configured=$(jq -c '[.states[].name] | sort' <<<"$expected")
  check "vm-state lists exactly the configured states $configured (it lists $listed)" test "$listed" = "$configured"
  snapshots=$(jq -r '.states[] | .name as $n | .snapshots[] | "\($n)@\(.name)"' <<<"$status")
  while IFS=$'\t' read -r state snap; do
    check "state $state has its snapshot $snap" grep -qxF "$state@$snap" <<<"$snapshots"
  done < <(jq -r '.states[] | .name as $n | .snapshots[]? | [$n, .] | @tsv' <<<"$expected")
else
  printf 'FAIL vm-state status --json answers\n'
  failed=1
fi

if ((failed)); then
  echo "verify: some checks failed (FAIL lines above)" >&2
  exit 1
fi
echo "verify: every check passed"
