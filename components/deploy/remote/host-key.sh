#!/usr/bin/env bash
# microvm-infra: the host's identity, and its own SSH host key in place of the bootstrap key.
# Runs as root on the host over SSH (sent by local/wait-for-ssh.sh on stdin, `bash -s -- ...`).
#
#   host-key.sh identity
#       Prints the EC2 instance id this machine is (/sys/devices/virtual/dmi/id/board_asset_tag on
#       the Nitro system, lib/constraints/facts.ts nitroInstanceIdInDmi), so the caller knows it
#       reached the machine it expects and not another answering to the same name.
#   host-key.sh rotate 'BOOTSTRAP_PUBLIC_KEY'
#       If sshd still serves the bootstrap key (the one that came through user data, readable by
#       anyone with ec2:DescribeInstanceAttribute and by any process on the host through IMDS),
#       makes a new ED25519 host key on the host, moves the bootstrap key aside
#       (<key>.bootstrap, root-only: docs/aws.md, "Host keys"), installs the new one atomically and
#       has sshd serve it (SIGHUP: sshd re-executes itself and reads its host keys again; this
#       session is not dropped: lib/constraints/facts.ts sshdReloadReadsHostKeys). Prints the public key sshd serves now (`type base64`), whether
#       it was just made or made before: the pin every later connection checks. The private key
#       never leaves the host.
#
# Exit: 0 ok; 1 error (nothing half-done: the private key is replaced by one rename); 2 usage.
# Overrides (the tests' real sshd): MICROVM_INFRA_SSH_HOST_KEY (default
# /etc/ssh/ssh_host_ed25519_key, NixOS's default host key), MICROVM_INFRA_INSTANCE_ID_FILE,
# MICROVM_INFRA_SYSTEMCTL.
set -euo pipefail
shopt -s inherit_errexit
log() { printf 'microvm-infra: %s\n' "$*" >&2; }
usage() { echo "Usage: host-key.sh identity | rotate 'BOOTSTRAP_PUBLIC_KEY'" >&2; exit 2; }

key=${MICROVM_INFRA_SSH_HOST_KEY:-/etc/ssh/ssh_host_ed25519_key}
id_file=${MICROVM_INFRA_INSTANCE_ID_FILE:-/sys/devices/virtual/dmi/id/board_asset_tag}
systemctl=${MICROVM_INFRA_SYSTEMCTL:-systemctl}

# `type base64` of an OpenSSH public key line (the comment dropped).
bare() { awk '{ print $1 " " $2 }' <<<"$1"; }

cmd_identity() {
  local id
  if ! id=$(tr -d '[:space:]' <"$id_file" 2>/dev/null) || [[ ! $id =~ ^i-[0-9a-f]{8,17}$ ]]; then
    log "cannot tell which EC2 instance this is: $id_file does not hold an instance id (every Graviton .metal type is built on the Nitro system, which puts it there)"
    exit 1
  fi
  printf '%s\n' "$id"
}

new=""
trap '[[ -z $new ]] || rm -rf "$new"' EXIT

cmd_rotate() {
  local bootstrap current dir
  bootstrap=$(bare "${1:?}")
  # From the private key sshd loads (not the .pub beside it): what sshd really serves.
  if ! current=$(bare "$(ssh-keygen -y -f "$key" 2>/dev/null)") || [[ -z ${current// /} ]]; then
    log "$key is not a readable private key: sshd serves no ED25519 host key"
    exit 1
  fi
  if [[ $current != "$bootstrap" ]]; then
    log "the host already serves its own host key (not the bootstrap key)"
    printf '%s\n' "$current"
    return 0
  fi
  dir=$(dirname -- "$key")
  new=$(mktemp -d "$dir/.microvm-infra-host-key.XXXXXX")
  ssh-keygen -q -t ed25519 -N '' -C '' -f "$new/key"
  chmod 0600 "$new/key"
  chmod 0644 "$new/key.pub"
  cp -p -- "$key" "$key.bootstrap"
  # One rename decides: before it the bootstrap key is served, after it the new one (the .pub
  # beside it is only for people; a rerun reads the private key).
  mv -f -- "$new/key" "$key"
  mv -f -- "$new/key.pub" "$key.pub"
  "$systemctl" kill --signal=HUP --kill-whom=main sshd.service
  log "made the host's own SSH host key; the bootstrap key from user data is no longer served ($key.bootstrap keeps it, root-only)"
  bare "$(ssh-keygen -y -f "$key")"
}

case ${1:-} in
  identity) [[ $# -eq 1 ]] || usage; cmd_identity ;;
  rotate) [[ $# -eq 2 ]] || usage; cmd_rotate "$2" ;;
  *) usage ;;
esac
