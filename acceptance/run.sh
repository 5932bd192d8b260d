#!/usr/bin/env bash
# `npm run acceptance`: a real acceptance run in your AWS account. Deploys a throwaway stack
# (acceptance/stack.yaml on the cheapest metal type of infra/instanceTypes.ts), checks the host for
# real over SSH (acceptance/host/verify.sh), edits the config to snapshot, clone and move states and
# runs `pulumi up` again, checks again, then destroys everything, the state volume included, and
# prints what the run cost. It spends money: nothing happens without --yes.
#
#   acceptance/run.sh run --yes [--region REGION]      all of it; the destroy runs whatever happens
#   acceptance/run.sh deploy --yes [--region REGION]   deploy and check only (CI destroys in a step of its own)
#   acceptance/run.sh destroy                          destroy the run recorded in $ACCEPTANCE_DIR, print its cost
#
# Needs: pulumi (logged in to the backend the stack should live in), AWS credentials, aws, ssh,
# ssh-keygen, ssh-agent, jq, curl, and `npm ci` done. PULUMI_ORG: an organization for the stack.
# ACCEPTANCE_DIR (default .acceptance/): the run's record (stack name, start time, its SSH key).
# Exit: 0 every check passed and everything was destroyed; 1 a check or a step failed; 2 usage.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

dir=${ACCEPTANCE_DIR:-.acceptance}
record=$dir/run.env
usage() {
  echo "Usage: acceptance/run.sh run|deploy --yes [--region REGION] | destroy" >&2
  exit 2
}
say() { printf '\nacceptance: %s\n' "$*" >&2; }

cmd=${1:-}
[[ $cmd == run || $cmd == deploy || $cmd == destroy ]] || usage
shift
yes=false
region=${AWS_REGION:-us-east-1}
while (($#)); do
  case $1 in
    --yes) yes=true ;;
    --region)
      (($# > 1)) || usage
      region=$2
      shift
      ;;
    *) usage ;;
  esac
  shift
done
[[ $region =~ ^[a-z]{2}(-[a-z]+)+-[0-9]$ ]] || { echo "acceptance: --region must be an AWS region name like us-east-1" >&2; exit 2; }

tsx() { npx --no-install tsx "$@"; }
# The volumes the cost counts: acceptance/stack.yaml's, or the program's defaults.
read -r root_gib state_gib < <(tsx acceptance/cost.ts volumes)

need_tools() {
  local t missing=()
  for t in pulumi aws ssh ssh-keygen ssh-agent ssh-add jq curl node; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  if ((${#missing[@]})); then
    echo "acceptance: missing tools: ${missing[*]}" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------- destroy
destroy() {
  if [[ ! -f $record ]]; then
    say "no run recorded in $record: nothing to destroy"
    return 0
  fi
  # shellcheck source=/dev/null
  source "$record"
  local rc=0 volumes
  say "destroying $STACK"
  if pulumi stack select "$STACK_FULL" 2>/dev/null; then
    # The state volume is protected and retainOnDelete: this stack opts in to losing it.
    pulumi state unprotect --all --yes --stack "$STACK_FULL" || rc=1
    pulumi destroy --yes --skip-preview --stack "$STACK_FULL" || rc=1
  fi
  # retainOnDelete left the state volume in AWS: delete the volumes tagged as this run's stack only.
  volumes=$(aws ec2 describe-volumes --region "$REGION" --filters "Name=tag:Stack,Values=$STACK" "Name=tag:Project,Values=microvm-infra" --query 'Volumes[].VolumeId' --output text) || rc=1
  for volume in $volumes; do
    if aws ec2 wait volume-available --region "$REGION" --volume-ids "$volume" && aws ec2 delete-volume --region "$REGION" --volume-id "$volume"; then
      say "deleted the state volume $volume"
    else
      say "could not delete the volume $volume: delete it by hand (aws ec2 delete-volume --volume-id $volume)"
      rc=1
    fi
  done
  if ((rc == 0)); then
    pulumi stack rm --yes --stack "$STACK_FULL" || rc=1
  fi
  if [[ -n ${SSH_AGENT_PID:-} ]]; then
    kill "$SSH_AGENT_PID" 2>/dev/null || true
  fi
  local seconds=$(($(date +%s) - STARTED))
  say "what the run cost ($((seconds / 60)) minutes, from the start of the run to the end of the destroy):"
  tsx acceptance/cost.ts "$INSTANCE_TYPE" "$seconds" "$root_gib" "$state_gib" >&2
  if ((rc == 0)); then
    rm -f "Pulumi.$STACK.yaml" "$record"
    say "everything is destroyed"
  else
    say "the destroy did not finish: run 'acceptance/run.sh destroy' again (the record stays in $record)"
  fi
  return "$rc"
}

# ---------------------------------------------------------------- deploy and check
# on_host HOST COMMAND: COMMAND on the host as root, its host key pinned to the stack's output.
on_host() {
  local host=$1
  shift
  ssh -o "UserKnownHostsFile=$dir/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=20 "root@$host" "$@"
}

# verify PHASE: the host against what the stack file says now.
verify() {
  local phase=$1 host hash curl_bin
  host=$(pulumi stack output publicIp --stack "$STACK_FULL")
  hash=$(pulumi stack output bundleHash --stack "$STACK_FULL")
  [[ $hash =~ ^[0-9a-f]{64}$ ]] || { echo "acceptance: the stack output bundleHash is not a bundle hash" >&2; return 1; }
  pulumi stack output knownHostsLine --stack "$STACK_FULL" >"$dir/known_hosts"
  tsx acceptance/expected.ts "Pulumi.$STACK.yaml" "$STACK" "$hash" >"$dir/expected.json"
  tar -C acceptance/host -cf - verify.sh probe.sh | on_host "$host" 'rm -rf /root/acceptance && mkdir -p /root/acceptance && tar -xf - -C /root/acceptance'
  # The host has no curl: one from the nixpkgs its own flake pins ($hash is checked above).
  curl_bin=$(on_host "$host" "nix --extra-experimental-features 'nix-command flakes' build --no-link --print-out-paths --inputs-from 'path:/var/lib/microvm-infra/bundles/$hash?dir=nixos' nixpkgs#curl.bin")
  [[ $curl_bin =~ ^/nix/store/[a-z0-9]{32}-[A-Za-z0-9._+-]+$ ]] || { echo "acceptance: could not build curl on the host" >&2; return 1; }
  say "checking the host ($phase)"
  on_host "$host" "ACCEPTANCE_CURL='$curl_bin/bin/curl' bash /root/acceptance/verify.sh" <"$dir/expected.json"
}

deploy() {
  need_tools
  local type name
  type=$(tsx acceptance/cost.ts cheapest)
  if [[ $yes != true ]]; then
    echo "acceptance: this deploys a throwaway stack to your AWS account ($region) and destroys it again:" >&2
    echo "a $type host, ${root_gib}+${state_gib} GiB of gp3 and a public IPv4 address. An hour of it costs:" >&2
    tsx acceptance/cost.ts "$type" 3600 "$root_gib" "$state_gib" >&2
    echo "A run takes 40 to 90 minutes (a metal host boots slowly). Run again with --yes to start." >&2
    exit 2
  fi
  if [[ -f $record ]]; then
    echo "acceptance: a run is recorded in $record: destroy it first (acceptance/run.sh destroy)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  name=acceptance-$(date -u +%Y%m%d-%H%M%S)-$((RANDOM % 1000))
  STACK=$name STACK_FULL=${PULUMI_ORG:+$PULUMI_ORG/}$name REGION=$region INSTANCE_TYPE=$type STARTED=$(date +%s)
  printf 'STACK=%q\nSTACK_FULL=%q\nREGION=%q\nINSTANCE_TYPE=%q\nSTARTED=%q\n' "$STACK" "$STACK_FULL" "$REGION" "$INSTANCE_TYPE" "$STARTED" >"$record"

  # The run's own SSH key, in an agent for Pulumi and for the checks.
  rm -f "$dir/id_ed25519" "$dir/id_ed25519.pub"
  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$dir/id_ed25519"
  eval "$(ssh-agent -s)" >/dev/null
  echo "SSH_AGENT_PID=$SSH_AGENT_PID" >>"$record"
  ssh-add -q "$dir/id_ed25519"

  say "stack $STACK_FULL: $type in $region"
  cp acceptance/stack.yaml "Pulumi.$STACK.yaml"
  pulumi stack init "$STACK_FULL"
  pulumi config set --stack "$STACK_FULL" aws:region "$REGION"
  pulumi config set --stack "$STACK_FULL" --path 'microvm-infra:host.instanceType' "$type"
  pulumi config set --stack "$STACK_FULL" --path 'microvm-infra:host.sshPublicKeys[0]' "$(cat "$dir/id_ed25519.pub")"
  pulumi config set --stack "$STACK_FULL" --path 'microvm-infra:host.adminCidrs[0]' "$(curl -fsS https://checkip.amazonaws.com)/32"

  say "pulumi up: the first deploy"
  pulumi up --yes --stack "$STACK_FULL"
  verify "first deploy"

  say "edits: a snapshot of slot1, a clone of it, the clone moved into slot3 (one pulumi up)"
  pulumi config set --stack "$STACK_FULL" --path 'microvm-infra:states.slot1.snapshots[0]' golden
  pulumi config set --stack "$STACK_FULL" --path 'microvm-infra:states.copy.from' slot1@golden
  pulumi config set --stack "$STACK_FULL" --path 'microvm-infra:states.copy.onRemove' destroy
  pulumi config set --stack "$STACK_FULL" --path 'microvm-infra:slots.slot3.state' copy
  pulumi up --yes --stack "$STACK_FULL"
  verify "after the edits"
}

case $cmd in
  destroy) destroy ;;
  deploy) deploy ;;
  run)
    # Whatever happens after this point (a failed check, a failed step, Ctrl-C), destroy.
    finish() {
      local status=$?
      trap - EXIT INT TERM
      destroy || status=1
      exit "$status"
    }
    trap finish EXIT
    trap 'exit 130' INT TERM
    deploy
    ;;
esac
