#!/usr/bin/env bats
# The fleet's SSH, for real (issue 14): two hosts as network namespaces at their fleet addresses,
# a real sshd on "big" whose root authorized_keys is the line nixos/lib/fleet.nix generates for
# fleet-big.json, and the real ssh on "main" with the ssh_config and known_hosts fleet.nix
# generates for fleet-main.json. A stand-in vm-state records what it is asked. The only changes
# to the generated text are two file locations (the stand-in, the known_hosts file), each checked
# to occur exactly once; keys are made here and put into the fixtures' fleet by a Nix edit.
#
# Shown: the fleet key runs `vm-state fleet-serve` and nothing else, whatever the client asks
# (which arrives in $SSH_ORIGINAL_COMMAND), with the data channel intact; it is refused from an
# address outside the fleet; the client trusts only the pinned host keys (an impostor at a fleet
# address, and a host outside the fleet, are refused: no trust on first use). Everything stays
# inside namespaces.

load helpers

setup_file() {
  require_root
  nix_setup
  require_tools jq ip ss ssh ssh-keygen sshd mount sha256sum
  D="$BATS_FILE_TMPDIR/fleet"
  mkdir -p "$D/bin" "$D/authorized_keys.d" "$D/home"
  LAB="mvfleet-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
  NS_MAIN="$LAB-main" NS_BIG="$LAB-big"
  export D NS_MAIN NS_BIG
  printf '%s\n' "$NS_MAIN" "$NS_BIG" >"$D/namespaces" # before they exist, for teardown_file

  # The stack's keys: the fleet's transfer key, big's host key, and an impostor's host key.
  ssh-keygen -q -t ed25519 -N '' -C microvm-infra-fleet -f "$D/transfer"
  ssh-keygen -q -t ed25519 -N '' -C big-host -f "$D/big_host"
  ssh-keygen -q -t ed25519 -N '' -C impostor -f "$D/impostor_host"
  ssh-keygen -q -t ed25519 -N '' -C operator -f "$D/other"
  local edit
  edit="infra: infra // { fleet = infra.fleet // {
    transferKeyFile = \"$D/transfer\";
    transferPublicKey = \"$(cat "$D/transfer.pub")\";
    hosts = map (h: if h.name == \"big\" then h // { hostKey = \"$(cat "$D/big_host.pub")\"; } else h) infra.fleet.hosts;
  }; }"

  # big's side: root's authorized_keys holds only the generated fleet line, with the stand-in's path.
  local big main line
  big=$(generate fleet "$FIXTURES/fleet-big.json" "$edit")
  line=$(jq -r '.authorizedKeys[0]' <<<"$big")
  [ "$(grep -o '/run/current-system/sw/bin/vm-state' <<<"$line" | wc -l)" -eq 1 ]
  printf '%s\n' "${line/\/run\/current-system\/sw\/bin\/vm-state/$D/bin/vm-state}" >"$D/authorized_keys.d/root"
  # The stand-in vm-state: records its arguments, SSH_ORIGINAL_COMMAND (or <none>) and its stdin.
  cat >"$D/bin/vm-state" <<EOF
#!/bin/sh
printf 'args=%s cmd=%s\n' "\$*" "\${SSH_ORIGINAL_COMMAND-<none>}" >>"$D/record"
cat >"$D/stdin"
echo "fleet-serve here"
EOF
  chmod 0755 "$D/bin/vm-state"

  # main's side: the generated ssh_config and known_hosts.
  main=$(generate fleet "$FIXTURES/fleet-main.json" "$edit")
  jq -r '.etc["/etc/microvm-infra/fleet/known_hosts"]' <<<"$main" >"$D/known_hosts"
  jq -r '.etc["/etc/microvm-infra/fleet/ssh_config"]' <<<"$main" >"$D/ssh_config.generated"
  [ "$(grep -v '^#' "$D/ssh_config.generated" | grep -c '/etc/microvm-infra/fleet/known_hosts')" -eq 1 ]
  sed "/^#/! s|/etc/microvm-infra/fleet/known_hosts|$D/known_hosts|" "$D/ssh_config.generated" >"$D/ssh_config"
  # The same client with another key in place of the fleet's (an operator's, say).
  sed "s|^  IdentityFile .*|  IdentityFile $D/other|" "$D/ssh_config" >"$D/ssh_config.other"

  # big's sshd: the host's policy (lib/openssh.nix), plus this test's files and address.
  {
    nix_eval '{ lib }: (import (lib + "/openssh.nix")).settings' --argstr lib "$NIXOS/lib" |
      jq -r 'to_entries[] | "\(.key) \(if .value == true then "yes" elif .value == false then "no" else .value end)"'
    echo "AuthorizedKeysFile $D/authorized_keys.d/%u"
    echo "PubkeyAuthentication yes"
    echo "UsePAM no"
    echo "StrictModes no" # the test's files are under /tmp
    echo "UseDNS no"
    echo "LogLevel VERBOSE"
    echo "Subsystem sftp internal-sftp" # NixOS offers sftp by default (services.openssh.allowSFTP)
  } >"$D/sshd_common"
  for name in big impostor; do
    cp "$D/sshd_common" "$D/sshd_$name"
    echo "HostKey $D/${name}_host" >>"$D/sshd_$name"
    echo "PidFile $D/sshd_$name.pid" >>"$D/sshd_$name"
  done
  echo "ListenAddress 172.20.2.10:22" >>"$D/sshd_big"
  echo "ListenAddress 172.20.2.10:2222" >>"$D/sshd_impostor"
  echo "ListenAddress 172.20.2.11:22" >>"$D/sshd_impostor"

  # The hosts' VPC: main at 172.20.1.10 (and a stranger's 172.20.3.99 beside it), big at 172.20.2.10
  # (and, beside it, 172.20.2.11, where only the impostor answers).
  ip netns add "$NS_MAIN"
  ip netns add "$NS_BIG"
  ip -n "$NS_MAIN" link set lo up
  ip -n "$NS_BIG" link set lo up
  ip -n "$NS_MAIN" link add vpc0 type veth peer name vpc0 netns "$NS_BIG"
  ip -n "$NS_MAIN" addr add 172.20.1.10/16 dev vpc0
  ip -n "$NS_MAIN" addr add 172.20.3.99/16 dev vpc0
  ip -n "$NS_BIG" addr add 172.20.2.10/16 dev vpc0
  ip -n "$NS_BIG" addr add 172.20.2.11/16 dev vpc0 # an address outside the fleet
  ip -n "$NS_MAIN" link set vpc0 up
  ip -n "$NS_BIG" link set vpc0 up

  # Each sshd in big's namespace, with a /run of its own (privilege separation directory).
  for name in big impostor; do
    # shellcheck disable=SC2016 # expanded by the inner sh
    ip netns exec "$NS_BIG" sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && exec "$@"' sh \
      "$(command -v sshd)" -D -f "$D/sshd_$name" -E "$D/sshd_$name.log" </dev/null >/dev/null 2>&1 3>&- &
    echo $! >>"$D/pids"
  done
  wait_listening "$NS_BIG" 22
  wait_listening "$NS_BIG" 2222
}

teardown_file() {
  local pid ns
  if [ -f "$D/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$D/pids"
  fi
  if [ -f "$D/namespaces" ]; then
    while read -r ns; do ip netns del "$ns" 2>/dev/null || true; done <"$D/namespaces"
  fi
}

# wait_listening NS PORT: until something listens on TCP PORT in NS (a busy machine may be slow;
# bounded only against a daemon that never comes up).
wait_listening() {
  local i
  for ((i = 0; i < 600; i++)); do
    ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
    sleep 0.1
  done
  echo "nothing listens on port $2 in $1; sshd said: $(cat "$D"/sshd_*.log 2>/dev/null)" >&2
  return 1
}

# from SOURCE SSH-ARGS...: the real ssh, run on main with the generated configuration and the
# source address SOURCE.
from() {
  local source=$1
  shift
  ip netns exec "$NS_MAIN" env HOME="$D/home" ssh -F "$D/ssh_config" -o BindAddress="$source" "$@"
}
records() { cat "$D/record" 2>/dev/null || true; }

@test "a fleet host's login runs vm-state fleet-serve, whatever it asks, and the data goes through" {
  : >"$D/record"
  run from 172.20.1.10 big 'replicate-receive slot1 --from main' <<<"a stream of blocks"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  [ "$output" = "fleet-serve here" ]
  [ "$(records)" = "args=fleet-serve cmd=replicate-receive slot1 --from main" ]
  [ "$(cat "$D/stdin")" = "a stream of blocks" ]
  # A command meant for a shell is only ever text handed to vm-state.
  : >"$D/record"
  run from 172.20.1.10 big "touch $D/shell-ran; id" </dev/null
  [ "$status" -eq 0 ]
  [ ! -e "$D/shell-ran" ]
  [ "$(records)" = "args=fleet-serve cmd=touch $D/shell-ran; id" ]
}

@test "no shell, no subsystem: a login without a command, or asking for sftp, still gets only fleet-serve" {
  : >"$D/record"
  run from 172.20.1.10 -T big </dev/null
  [ "$status" -eq 0 ]
  run from 172.20.1.10 -s big sftp </dev/null
  [ "$status" -eq 0 ]
  # For a subsystem, sshd hands fleet-serve the subsystem's configured command.
  [ "$(records)" = "args=fleet-serve cmd=<none>
args=fleet-serve cmd=internal-sftp" ] || { records >&2; return 1; }
}

@test "from=: the fleet key from an address outside the fleet is refused, and nothing runs" {
  : >"$D/record"
  run from 172.20.3.99 big 'replicate-receive slot1' </dev/null
  [ "$status" -eq 255 ]
  [[ "$output" == *"Permission denied"* ]]
  [ -z "$(records)" ]
  grep -q 'not from a permitted host (host=172.20.3.99, ip=172.20.3.99, required=172.20.1.10)' "$D/sshd_big.log"
  # Any other key, even from a fleet address: root's keys here are the fleet line only.
  run ip netns exec "$NS_MAIN" env HOME="$D/home" ssh -F "$D/ssh_config.other" -o BindAddress=172.20.1.10 big x </dev/null
  [ "$status" -eq 255 ]
  [ -z "$(records)" ]
}

@test "the client trusts only the pinned host keys: an impostor, or a host outside the fleet, is refused" {
  local known
  known=$(sha256sum <"$D/known_hosts")
  : >"$D/record"
  # The impostor answers at big's address, with the fleet's authorized key, but its own host key.
  run from 172.20.1.10 -p 2222 big 'replicate-receive slot1' </dev/null
  [ "$status" -eq 255 ]
  [[ "$output" == *"Host key verification failed"* ]]
  # A host that is not in the fleet, reached by its address: no key known, none learnt.
  run from 172.20.1.10 172.20.2.11 'replicate-receive slot1' </dev/null
  [ "$status" -eq 255 ]
  [[ "$output" == *"Host key verification failed"* ]]
  [ -z "$(records)" ]
  [ "$(sha256sum <"$D/known_hosts")" = "$known" ]
  [ "$(ls -A "$D/home")" = "" ] || [ "$(ls -A "$D/home/.ssh" 2>/dev/null)" = "" ]
  # The controls: the same client to the real big, by its fleet name and by its address.
  run from 172.20.1.10 big ok </dev/null
  [ "$status" -eq 0 ]
  run from 172.20.1.10 172.20.2.10 ok </dev/null
  [ "$status" -eq 0 ]
  [ "$(records)" = "args=fleet-serve cmd=ok
args=fleet-serve cmd=ok" ]
}
