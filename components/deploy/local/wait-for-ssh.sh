#!/usr/bin/env bash
# microvm-infra: wait until the host's sshd answers, then prove that it is the host Pulumi generated
# the key for and that it accepts the operator's key, before any remote command runs. Runs on the
# operator's machine (Pulumi's local command), with the OpenSSH client.
#   wait-for-ssh.sh ADDRESS PORT TIMEOUT_SECONDS 'HOST_PUBLIC_KEY'     stdin: the private key, or nothing (SSH agent)
# Waits while the host cannot be reached (not booted yet, sshd starting); fails at once, with what
# to do, when the host key differs from the one pinned or the host refuses the key: waiting would
# not fix either, and the remote commands would otherwise retry them as dial errors for minutes.
# Exit: 0 reachable and accepted; 1 timed out (or no temporary directory for the key); 3 host key
# mismatch; 4 key refused; 2 usage.
# No `set -e` (each failure is handled where it happens): every step that writes is checked.
set -uo pipefail
address=${1:?usage: wait-for-ssh.sh ADDRESS PORT TIMEOUT HOST_PUBLIC_KEY}
port=${2:?} timeout=${3:?} host_key=${4:?}
ssh=${MICROVM_INFRA_SSH:-ssh}
user=${MICROVM_INFRA_SSH_USER:-root} # the tests' sshd runs as the test user
say() { printf 'microvm-infra: %s\n' "$*" >&2; }

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
if ! printf '%s %s\n' "$pin" "$host_key" >"$work/known_hosts"; then
  say "cannot write the pinned host key to $work"
  exit 1
fi

deadline=$(($(date +%s) + timeout))
attempt=0
while :; do
  attempt=$((attempt + 1))
  if out=$("$ssh" -F /dev/null -p "$port" "${identity[@]}" -o BatchMode=yes -o ConnectTimeout=10 \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$work/known_hosts" -o GlobalKnownHostsFile=/dev/null \
    -o LogLevel=ERROR "$user@$address" true 2>&1 </dev/null); then
    say "$user@$address:$port answers with the pinned host key and accepts the key (attempt $attempt)"
    exit 0
  fi
  case $out in
    *"REMOTE HOST IDENTIFICATION HAS CHANGED"* | *"Host key verification failed"* | *"host key"*"differs"*)
      say "$address:$port answers with another SSH host key than the one this stack generated for the host."
      say "Either the address now belongs to another machine, or the host was rebuilt by hand: check 'pulumi stack output hostId'"
      say "and host.connectVia; never bypass this with StrictHostKeyChecking=no."
      exit 3
      ;;
    *"Permission denied"* | *"Too many authentication failures"* | *"no mutual signature"*)
      say "$address:$port is the right host but refused your SSH key for $user."
      say "Use a key whose public half is in host.sshPublicKeys: set it as a secret (pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519)"
      say "or load it into your SSH agent (ssh-add); on a new host, the first key of host.sshPublicKeys when the instance was created."
      exit 4
      ;;
  esac
  if ((attempt % 30 == 1)); then
    say "$address:$port does not answer SSH yet (${out:-no answer}); waiting up to ${timeout}s"
  fi
  if (($(date +%s) >= deadline)); then
    say "$address:$port did not answer SSH within ${timeout}s ($attempt attempts); the last error: ${out:-none}"
    say "A metal host takes 5 to 15 minutes to boot; check the instance's console (aws ec2 get-console-output) and host.adminCidrs."
    exit 1
  fi
  sleep 2
done
