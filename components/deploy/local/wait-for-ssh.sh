#!/usr/bin/env bash
# microvm-infra: wait until the host's sshd answers, prove that it is the machine Pulumi expects
# (its host key and its EC2 instance id) and that it accepts the operator's key, and make sure it
# serves its own host key rather than the bootstrap key that came through user data. Runs on the
# operator's machine (Pulumi's local command), with the OpenSSH client.
#
#   wait-for-ssh.sh MODE ADDRESS PORT TIMEOUT_SECONDS 'BOOTSTRAP_KEY' INSTANCE_ID INSTANCE_TYPE VIA 'REMOTE_SCRIPT'
#     MODE           new: a machine Pulumi has not reached before (a new or replaced instance: the
#                    resource's create); same: the machine reached before (its update: a new
#                    address, or the same instance restarted with another type)
#     BOOTSTRAP_KEY  the public key user data gave the machine at its first boot
#     VIA            public (its Elastic IP) or tailnet (its tailnet name)
#     REMOTE_SCRIPT  the text of remote/host-key.sh, run on the host
#   stdin: the private key, or nothing (SSH agent)
#   env PULUMI_COMMAND_STDOUT: this script's previous output (pulumi-command sets it on update)
#
# Prints one line on stdout: the host key the machine serves now, the pin for every remote command.
# A new machine first serves the bootstrap key; once reached, it makes its own and that is printed.
# The same machine is met with the key printed last time (the bootstrap key if there is none yet:
# a stack deployed before host keys were made on the host).
#
# Waits while the host cannot be reached (not booted yet, sshd starting); fails at once, saying
# what to do, when the host key differs from the one expected, the host refuses the key, or the
# machine is another instance than expected. A new machine cannot have joined the tailnet (the
# deployment gives it its auth key): over the tailnet it is given only a short wait, then the
# message says to reach it by its Elastic IP for this update.
# Exit: 0 ready; 1 timed out or error; 2 usage; 3 host key mismatch; 4 key refused; 5 another instance.
# No `set -e` (each failure is handled where it happens): every step that writes is checked.
set -uo pipefail
usage() { echo "usage: wait-for-ssh.sh new|same ADDRESS PORT TIMEOUT BOOTSTRAP_KEY INSTANCE_ID INSTANCE_TYPE public|tailnet REMOTE_SCRIPT" >&2; exit 2; }
[[ $# -eq 9 ]] || usage
mode=$1 address=$2 port=$3 timeout=$4 bootstrap=$5 instance=$6 type=$7 via=$8 remote=$9
[[ $mode == new || $mode == same ]] || usage
[[ $via == public || $via == tailnet ]] || usage
ssh=${MICROVM_INFRA_SSH:-ssh}
user=${MICROVM_INFRA_SSH_USER:-root} # the tests' sshd runs as the test user
# A new machine over the tailnet: how long to give a name that does not answer (an existing host answers at once).
new_over_tailnet=${MICROVM_INFRA_NEW_OVER_TAILNET_WAIT:-120}
say() { printf 'microvm-infra: %s\n' "$*" >&2; }
bare() { awk 'NF >= 2 { print $1 " " $2; exit }' <<<"$1"; }

public_way() {
  say "Pulumi reaches a new machine by its Elastic IP: for this update set host.connectVia (or hosts.<name>.connectVia) to \"public\""
  say "and put the address you deploy from in host.adminCidrs; once it has joined the tailnet, set it back (docs/operations.md, \"Replace the host\")."
}

umask 077
# The private key goes into this directory: never into "$work/key" with an empty $work (/key).
if ! work=$(mktemp -d) || [[ -z $work || ! -d $work ]]; then
  say "cannot create a temporary directory for the SSH key and the pinned host key (mktemp -d in ${TMPDIR:-/tmp}); nothing was written"
  exit 1
fi
trap 'rm -rf "$work"' EXIT
identity=()
if key=$(cat) && [[ -n $key ]]; then
  if ! printf '%s\n' "$key" >"$work/key"; then
    say "cannot write the SSH key to $work"
    exit 1
  fi
  identity=(-i "$work/key" -o IdentitiesOnly=yes)
fi
unset key
if [[ $port == 22 ]]; then pin=$address; else pin="[$address]:$port"; fi

# The key the machine should serve now.
expected=$(bare "$bootstrap")
previous=$(bare "${PULUMI_COMMAND_STDOUT:-}")
if [[ $mode == same && -n $previous ]]; then
  expected=$previous
fi
if [[ $mode == new && $via == tailnet ]] && ((timeout > new_over_tailnet)); then
  timeout=$new_over_tailnet
fi

# ssh_to KEY ARGS...: runs on the host, pinned to KEY.
ssh_to() {
  local host_key=$1
  shift
  if ! printf '%s %s\n' "$pin" "$host_key" >"$work/known_hosts"; then
    say "cannot write the pinned host key to $work"
    return 1
  fi
  "$ssh" -F /dev/null -p "$port" "${identity[@]}" -o BatchMode=yes -o ConnectTimeout=10 \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$work/known_hosts" -o GlobalKnownHostsFile=/dev/null \
    -o LogLevel=ERROR "$user@$address" "$@"
}

deadline=$(($(date +%s) + timeout))
attempt=0
while :; do
  attempt=$((attempt + 1))
  if out=$(ssh_to "$expected" true 2>&1 </dev/null); then
    say "$user@$address:$port answers with the pinned host key and accepts the key (attempt $attempt)"
    break
  fi
  case $out in
    *"REMOTE HOST IDENTIFICATION HAS CHANGED"* | *"Host key verification failed"* | *"host key"*"differs"*)
      say "$address:$port answers with another SSH host key than the one expected for instance $instance."
      if [[ $mode == new && $via == tailnet ]]; then
        say "The tailnet name answers from another machine, most likely the one this update replaces: a new machine has not joined the tailnet yet."
        public_way
      else
        say "Either the address now belongs to another machine, or the host was rebuilt by hand: check 'pulumi stack output hostId'"
        say "and host.connectVia; never bypass this with StrictHostKeyChecking=no (docs/aws.md, \"Host keys\", if the key was changed on the host)."
      fi
      exit 3
      ;;
    *"Permission denied"* | *"Too many authentication failures"* | *"no mutual signature"*)
      say "$address:$port is the right host but refused your SSH key for $user."
      say "Use a key whose public half is in host.sshPublicKeys: set it as a secret (pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519)"
      say "or load it into your SSH agent (ssh-add); on a new host, the key of the EC2 key pair it was first created with (docs/aws.md, \"Key pairs\")."
      exit 4
      ;;
  esac
  if ((attempt % 30 == 1)); then
    say "$address:$port does not answer SSH yet (${out:-no answer}); waiting up to ${timeout}s for instance $instance ($type)"
  fi
  if (($(date +%s) >= deadline)); then
    say "$address:$port did not answer SSH within ${timeout}s ($attempt attempts); the last error: ${out:-none}"
    if [[ $mode == new && $via == tailnet ]]; then
      say "Instance $instance is a new machine, reached by its tailnet name, which it cannot have yet (it joins during the deployment)."
      public_way
    else
      say "A metal host takes 5 to 15 minutes to boot; check the instance's console (aws ec2 get-console-output) and host.adminCidrs."
    fi
    exit 1
  fi
  sleep 2
done

# The machine: the instance Pulumi expects, not another that answers to the same name or address.
if ! found=$(ssh_to "$expected" 'bash -s -- identity' <<<"$remote"); then
  say "cannot read the instance id on $address (see above)"
  exit 1
fi
if [[ $found != "$instance" ]]; then
  say "$address:$port is instance $found, not $instance, the one this stack expects."
  if [[ $via == tailnet ]]; then
    say "The tailnet name points at another machine, most likely the one this update replaces."
    public_way
  fi
  exit 5
fi

# Its own host key: made on the host if it still serves the bootstrap key.
if [[ $expected == "$(bare "$bootstrap")" ]]; then
  if ! own=$(ssh_to "$expected" "bash -s -- rotate '$expected'" <<<"$remote") || [[ -z $own ]]; then
    say "could not make the host's own SSH host key on $address (see above); it still serves the bootstrap key, and the next pulumi up tries again"
    exit 1
  fi
  own=$(bare "$own")
  # sshd re-executes itself to pick the key up: a dial may fail for a moment.
  for ((try = 1; ; try++)); do
    if again=$(ssh_to "$own" 'bash -s -- identity' <<<"$remote" 2>"$work/err") && [[ $again == "$instance" ]]; then
      break
    fi
    if ((try >= 30)); then
      say "after making its own host key, $address does not answer with it: $(<"$work/err"); docs/aws.md, \"Host keys\", says how to recover"
      exit 1
    fi
    sleep 1
  done
  say "instance $instance now serves its own SSH host key, made on the host; every connection pins it"
  expected=$own
fi
printf '%s\n' "$expected"
