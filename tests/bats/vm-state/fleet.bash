# shellcheck shell=bash disable=SC2034,SC2154
# (shares globals with helpers.bash and the tests: MiB, FAKES, PAUSED_STATUS...)
# A fleet on this machine, for the fleet tests: the hosts `main` and `big`, each with its own
# vm-state root, infra.json (with the .fleet the program renders), units, fakes' state and a real
# sshd on 127.0.0.1 and a port of its own, with its own host key and an authorized_keys that holds
# what root's authorized_keys on a fleet host holds:
#   restrict,from="127.0.0.1",command="vm-state fleet-serve" <the fleet's transfer key>
# `vm-state` on the sshd's PATH is the repository's, run by the Node the suite runs with. The
# sshd's SetEnv gives the forced command its host's environment. Also in .fleet: `third` (127.0.0.1, a root but no sshd: a third target)
# and `far` (an address nothing connects from). Load after helpers: `load fleet`.
# Slots are unique across the fleet: main has slot1 and slot2, big slot3 and slot4, third slot5.

# fleet_setup BACKEND: files (the suite's backend) or zfs (the recording fake zfs on every host).
fleet_setup() {
  require_root
  require_tools ssh ssh-keygen sshd setsid rsync rrsync python3
  FLEET_SSHD=$(command -v sshd) # found where require_tools found it (sshd runs by its absolute path)
  FLEET_TEST_BACKEND=$1
  if [[ $1 == files ]]; then FLEET_TEST_BACKEND=$TEST_BACKEND; fi
  FLEET=$BATS_TEST_TMPDIR/fleet
  mkdir -p "$FLEET/bin"
  ln -s "$VM_STATE" "$FLEET/bin/vm-state"
  ssh-keygen -q -t ed25519 -N '' -C microvm-infra-fleet -f "$FLEET/transfer_key"
  : >"$FLEET/known_hosts"
  : >"$FLEET/ssh_config"
  export FAKE_SYSTEMCTL_LOG=$BATS_TEST_TMPDIR/systemctl.log # shared: one order across hosts
  local host
  for host in main big third; do
    mkdir -p "$FLEET/$host"/{units,ch,zfs}
    host_root "$host" >/dev/null
    if [[ $FLEET_TEST_BACKEND == zfs ]]; then
      printf 'tank\t1600000000\t-\t-\ntank/states\t1600000000\t-\t-\n' >"$FLEET/$host/zfs/db"
      mkdir -p "$(host_root "$host")/states"
    fi
  done
  write_fleet_config main slot1 slot2
  write_fleet_config big slot3 slot4
  write_fleet_config third slot5
  start_sshd main
  start_sshd big
}

# The root of HOST's states (on the xfs backend, on the suite's XFS).
host_root() {
  local r=$FLEET/$1/root
  if [[ $TEST_BACKEND == xfs && $FLEET_TEST_BACKEND == xfs ]]; then r=$VM_STATE_TEST_XFS/t-$BATS_SUITE_TEST_NUMBER/$1; fi
  mkdir -p "$r"
  printf '%s' "$r"
}

# write_fleet_config HOST SLOT...: HOST's infra.json, its .fleet as the program renders it.
write_fleet_config() {
  local host=$1 first=1
  shift
  case $host in
    big) first=3 ;;
    third) first=5 ;;
  esac
  jq -n --arg backend "$FLEET_TEST_BACKEND" --arg self "$host" --arg key "$FLEET/transfer_key" \
    --arg pub "$(cat "$FLEET/transfer_key.pub")" --argjson first "$first" '{
    version: 1,
    storage: {backend: $backend, pool: "tank", device: null, autoSnapshots: []},
    guest: {dataLabel: "vmstate"},
    slots: [$ARGS.positional | to_entries[] | {name: .value, index: (.key + $first)}],
    fleet: {
      self: $self,
      hosts: [{name: "main", address: "127.0.0.1", backend: $backend},
              {name: "big", address: "127.0.0.1", backend: $backend},
              {name: "third", address: "127.0.0.1", backend: $backend},
              {name: "far", address: "10.255.255.1", backend: $backend}],
      transferKeyFile: $key,
      transferPublicKey: $pub,
      replicas: [{state: "web", from: "main", to: "big", every: "15m", keep: {hourly: 24, daily: 7}}]
    }
  }' --args "$@" >"$FLEET/$host/infra.json"
}

# HOST's environment, as its sshd gives it to the forced command ("NAME=VALUE" words).
host_env_words() {
  local host=$1 root
  root=$(host_root "$host")
  printf '%s\n' \
    "VM_STATE_ROOT=$root" \
    "VM_STATE_CONFIG=$FLEET/$host/infra.json" \
    "VM_STATE_SYSTEMCTL=$SYSTEMCTL_FAKE" \
    "FAKE_SYSTEMCTL_DIR=$FLEET/$host/units" \
    "FAKE_SYSTEMCTL_LOG=$FAKE_SYSTEMCTL_LOG" \
    "FAKE_SYSTEMCTL_DISKS=$root" \
    "VM_STATE_CH_REMOTE=$FAKES/ch-remote" \
    "FAKE_CH_REMOTE_DIR=$FLEET/$host/ch" \
    "FAKE_CH_REMOTE_LOG=$FLEET/$host/ch-remote.log" \
    "VM_STATE_ZFS=$FAKES/zfs" \
    "FAKE_ZFS_DIR=$FLEET/$host/zfs" \
    "FAKE_ZFS_LOG=$FLEET/$host/zfs.log" \
    "VM_STATE_START_TIMEOUT=5" \
    "VM_STATE_LOCK_WAIT=${VM_STATE_LOCK_WAIT:-20}" \
    "VM_STATE_FLEET_SSH_CONFIG=$FLEET/ssh_config" \
    "VM_STATE_FLEET_KNOWN_HOSTS=$FLEET/known_hosts"
}
# on HOST [NAME=VALUE...] ARGS...: vm-state run on HOST (as Pulumi or the timer runs it there),
# with HOST's environment and then the NAME=VALUE given.
on() {
  local host=$1 words=()
  shift
  mapfile -t words < <(host_env_words "$host")
  while [[ ${1:-} =~ ^[A-Z_]+= ]]; do
    words+=("$1")
    shift
  done
  env "${words[@]}" "$VM_STATE" "$@"
}
# HOST's view of the fakes: its zfs, its running units.
host_zfs() {
  local host=$1
  shift
  FAKE_ZFS_DIR=$FLEET/$host/zfs FAKE_ZFS_LOG=$FLEET/$host/zfs.log VM_STATE_ROOT=$(host_root "$host") "$FAKES/zfs" "$@"
}
host_img() { printf '%s/states/%s/data.img' "$(host_root "$1")" "$2"; }
host_running() { [[ -e $FLEET/$1/units/microvm@$2.service ]]; }

# start_sshd HOST [BIN]: its sshd on a free port of 127.0.0.1, started and waited for until it
# accepts the fleet key (a port that turns out to be taken is replaced by another). The forced
# command's `vm-state` is the one in BIN (default $FLEET/bin, the repository's).
start_sshd() {
  local host=$1 dir=$FLEET/$1 bin=${2:-$FLEET/bin} node_dir port pid words=()
  node_dir=$(dirname "$(command -v node)")
  mkdir -p /run/sshd
  if [[ ! -f $dir/host_key ]]; then ssh-keygen -q -t ed25519 -N '' -C "$host" -f "$dir/host_key"; fi # kept by a restart
  printf 'restrict,from="127.0.0.1",command="vm-state fleet-serve" %s\n' "$(cat "$FLEET/transfer_key.pub")" >"$dir/authorized_keys"
  mapfile -t words < <(host_env_words "$host")
  for _ in $(seq 20); do
    port=$((20000 + (RANDOM % 20000)))
    {
      echo "Port $port"
      echo "ListenAddress 127.0.0.1"
      echo "HostKey $dir/host_key"
      echo "PidFile $dir/sshd.pid"
      echo "AuthorizedKeysFile $dir/authorized_keys"
      echo "PermitRootLogin prohibit-password"
      echo "PasswordAuthentication no"
      echo "KbdInteractiveAuthentication no"
      echo "UsePAM no"
      echo "StrictModes no"
      echo "LogLevel ERROR"
      echo "SetEnv PATH=$bin:$node_dir:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ${words[*]}"
    } >"$dir/sshd_config"
    "$FLEET_SSHD" -D -e -f "$dir/sshd_config" </dev/null >/dev/null 2>>"$dir/sshd.log" 3>&- &
    pid=$!
    echo "$pid" >"$dir/sshd.pid.test"
    sed -i "/^Host $host\$/,/^\$/d" "$FLEET/ssh_config"
    printf 'Host %s\n  Port %s\n\n' "$host" "$port" >>"$FLEET/ssh_config"
    sed -i "/^\[127.0.0.1\]:[0-9]* .* $host\$/d" "$FLEET/known_hosts"
    echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub") $host" >>"$FLEET/known_hosts"
    # Ready when it answers the fleet key; gone when the port was taken. Bounded only against a hang.
    local end=$((SECONDS + 120))
    while ((SECONDS < end)); do
      if fleet_ssh "$host" status >/dev/null 2>&1; then return 0; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "sshd for $host did not start: $(tail -3 "$dir/sshd.log")" >&2
  return 1
}
stop_sshds() {
  local f
  for f in "$FLEET"/*/sshd.pid.test; do
    [[ -f $f ]] || continue
    kill "$(cat "$f")" 2>/dev/null || true
  done
}
# stop_sshd HOST: that host's sshd only, waited for until its port is free.
stop_sshd() {
  local pid
  pid=$(cat "$FLEET/$1/sshd.pid.test")
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$FLEET/$1/sshd.pid.test"
}

# fleet_ssh HOST REQUEST...: a request to HOST with the fleet's transfer key, as vm-state sends it.
fleet_ssh() {
  local host=$1
  shift
  ssh -F "$FLEET/ssh_config" -i "$FLEET/transfer_key" -l root -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$FLEET/known_hosts" -o GlobalKnownHostsFile=/dev/null \
    -o LogLevel=ERROR -o HostName=127.0.0.1 "$host" "$@"
}

# rsync's -e for the fleet's key, as vm-state builds it (fleet/rsync.ts), for tests that run rsync themselves.
fleet_rsh() {
  printf '%s' "ssh -F $FLEET/ssh_config -i $FLEET/transfer_key -l root -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$FLEET/known_hosts -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR -o HostName=127.0.0.1"
}

# A running VM on HOST's SLOT with the state NAME holding TEXT at 512 MiB.
fleet_state() { # HOST NAME SLOT TEXT
  on "$1" create "$2" --size-gib 1 2>/dev/null
  put_text "$(host_img "$1" "$2")" $((512 * MiB)) "$4"
  if [[ -n $3 ]]; then on "$1" assign "$3" "$2" 2>/dev/null; fi
}

# A state `web` running on main's slot1, with 8 MiB of random data besides its text.
web_on_main() {
  fleet_state main web slot1 "${1:-data of web}"
  dd if=/dev/urandom of="$(host_img main web)" bs=1M count=8 seek=100 conv=notrunc status=none
  : >"$FAKE_SYSTEMCTL_LOG"
}
# The copy main keeps of web after a move (list --all), and the states a host lists.
hidden_copy() { on main list --all --json 2>/dev/null | jq -r '.hidden[] | select(.was | startswith("web (moved")) | .name'; }
states_on() { on "$1" list --json 2>/dev/null | jq -r '[.states[].name] | join(" ")'; }
# The first line of the shared systemctl log that holds TEXT.
line_of() { grep -n -m1 -F -- "$1" "$FAKE_SYSTEMCTL_LOG" | cut -d: -f1; }

# pause_at PHASE HOST ARGS...: runs vm-state ARGS on HOST in the background with the test hook
# VM_STATE_TEST_PHASE=PHASE, and waits until it is there (it waits for resume_run). The process
# group's pid is in PAUSED_PID.
pause_at() {
  local phase=$1 host=$2 words=()
  shift 2
  rm -f "$BATS_TEST_TMPDIR/phase-reached" "$BATS_TEST_TMPDIR/phase-resume"
  mapfile -t words < <(host_env_words "$host")
  VM_STATE_TEST_PHASE=$phase VM_STATE_TEST_PHASE_FILE=$BATS_TEST_TMPDIR/phase-reached \
    VM_STATE_TEST_PHASE_RESUME=$BATS_TEST_TMPDIR/phase-resume \
    setsid env "${words[@]}" "$VM_STATE" "$@" </dev/null >"$BATS_TEST_TMPDIR/paused.out" 2>"$BATS_TEST_TMPDIR/paused.err" 3>&- &
  PAUSED_PID=$!
  wait_for_phase "$PAUSED_PID"
}
wait_for_phase() { # PID
  local end=$((SECONDS + 120))
  until [[ -s $BATS_TEST_TMPDIR/phase-reached ]]; do
    if ! kill -0 "$1" 2>/dev/null || ((SECONDS > end)); then
      echo "vm-state never reached its phase:" >&2
      cat "$BATS_TEST_TMPDIR/paused.err" >&2
      return 1
    fi
    sleep 0.05
  done
}
# resume_run: lets the paused run go on and waits for it; its status in PAUSED_STATUS.
resume_run() {
  touch "$BATS_TEST_TMPDIR/phase-resume"
  PAUSED_STATUS=0
  wait "$PAUSED_PID" || PAUSED_STATUS=$?
}
# kill_at PHASE HOST ARGS...: like pause_at, then SIGKILL for the whole process group (vm-state,
# its ssh and its receiver), as a crash or a lost connection would.
kill_at() {
  local phase=$1 host=$2 words=()
  shift 2
  rm -f "$BATS_TEST_TMPDIR/phase-reached" "$BATS_TEST_TMPDIR/phase-resume"
  mapfile -t words < <(host_env_words "$host")
  VM_STATE_TEST_PHASE=$phase VM_STATE_TEST_PHASE_FILE=$BATS_TEST_TMPDIR/phase-reached \
    setsid env "${words[@]}" "$VM_STATE" "$@" </dev/null >"$BATS_TEST_TMPDIR/paused.out" 2>"$BATS_TEST_TMPDIR/paused.err" 3>&- &
  local pid=$!
  wait_for_phase "$pid"
  kill -KILL -- "-$pid"
  wait "$pid" || true
}
