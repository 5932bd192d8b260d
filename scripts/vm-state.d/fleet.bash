# shellcheck shell=bash disable=SC2034,SC2153
# (globals are shared between the parts of vm-state: assigned in one, read in another)
# vm-state: the host side of a fleet (several hosts in one stack): moving a state to another
# host (fleet-pull, run on the target), warm replicas on another host (replicate, run on the
# source; replica-promote on the target), and fleet-serve, the only thing the fleet's transfer key
# may run (root's authorized_keys: restrict,from="...",command="vm-state fleet-serve").
#
# infra.json `.fleet` (absent in a one-host stack):
#   {"self": HOST, "hosts": [{"name", "address", "backend"}], "transferKeyFile", "transferPublicKey",
#    "replicas": [{"state", "from", "to", "every", "keep": {"hourly", "daily", "weekly", "monthly"}}]}
# Hosts reach each other as root over SSH at `address` with the key in `transferKeyFile`.
#
# What the fleet keeps under the root (records are JSON, replaced atomically):
#   .vm-state-fleet/in/<state>.json       a move into this host: {from, phase, bytes..., stoppedAt}
#   .vm-state-fleet/out/<state>.json      a move out of this host: {to, phase, slot, wasRunning}
#   .vm-state-fleet/moved/<state>.json    a finished move out: {to, at, hidden} (hidden: the copy kept)
#   .vm-state-fleet/replicas/<state>.json a replica held here: {from}
#   .vm-state-fleet/locks/*.lock          one transfer per state and direction at a time
#   .vm-state-fleet/fleet.log             every fleet-serve request, allowed or refused
# The data in flight and kept is the backend's (backend-*.bash, <backend>_fleet_*): on files and
# xfs under states/.fleet-in-<state>, states/.moved/, states/.replicas/; on zfs <pool>/states/
# _fleet-in-<state>, <pool>/moved/, <pool>/replicas/. None of these names can be a state's.

FLEET_SELF='' FLEET_KEY='' FLEET_FAMILY=''
declare -A FLEET_ADDR=() FLEET_BACKEND=()
FLEET_HOSTS=() FLEET_REPLICAS=()
FLEET_DIR=''
FLEET_SSH_CMD=()
FLEET_BYTES=0
FLEET_OPS='status send-snapshot send-resume stop-and-release send-incremental finish-move cancel-move receive-replica prune-replica'

# Reads .fleet of infra.json (one jq call) after load_config. Dies with exit 4 when there is none.
load_fleet() {
  local fields=() i
  mapfile -d '' -t fields < <(jq -j 'if .fleet == null then "none\u0000" else
      .fleet as $f | ["ok", ($f.self // ""), ($f.transferKeyFile // ""),
        (($f.hosts // []) | length), (($f.replicas // []) | length)]
      + [($f.hosts // [])[] | (.name // ""), (.address // ""), (.backend // "")]
      + [($f.replicas // [])[] | (.state // ""), (.from // ""), (.to // ""),
          (.keep.hourly // 0), (.keep.daily // 0), (.keep.weekly // 0), (.keep.monthly // 0)]
      | map(tostring | gsub("\u0000"; "?") + "\u0000") | add end' "$CONFIG" 2>/dev/null || printf 'bad\0')
  case ${fields[0]:-bad} in
    ok) ;;
    none) die "$EX_CONFLICT" "$CONFIG has no .fleet: this host is not part of a fleet (a one-host stack)" ;;
    *) die "$EX_ERROR" "$CONFIG: .fleet is not valid" ;;
  esac
  FLEET_SELF=${fields[1]} FLEET_KEY=${fields[2]}
  local nhosts=${fields[3]} nrepl=${fields[4]} name addr backend
  FLEET_HOSTS=() FLEET_ADDR=() FLEET_BACKEND=()
  for ((i = 5; i < 5 + 3 * nhosts; i += 3)); do
    name=${fields[i]} addr=${fields[i + 1]} backend=${fields[i + 2]}
    is_name host "$name" || die "$EX_ERROR" "$CONFIG: .fleet.hosts: invalid host name $(shown "$name")"
    [[ $addr =~ ^[A-Za-z0-9][A-Za-z0-9.:-]*$ && ${#addr} -le 253 ]] ||
      die "$EX_ERROR" "$CONFIG: .fleet.hosts: host $name has an invalid address $(shown "$addr")"
    case $backend in
      files | xfs | zfs) ;;
      *) die "$EX_ERROR" "$CONFIG: .fleet.hosts: host $name has an unknown backend $(shown "$backend")" ;;
    esac
    FLEET_HOSTS+=("$name")
    FLEET_ADDR[$name]=$addr FLEET_BACKEND[$name]=$backend
  done
  FLEET_REPLICAS=("${fields[@]:5+3*nhosts:7*nrepl}")
  [[ -n ${FLEET_ADDR[$FLEET_SELF]:-} ]] ||
    die "$EX_ERROR" "$CONFIG: .fleet.self $(shown "$FLEET_SELF") is not one of .fleet.hosts"
  [[ ${FLEET_BACKEND[$FLEET_SELF]} == "$BACKEND" || -n ${VM_STATE_BACKEND:-} ]] ||
    die "$EX_ERROR" "$CONFIG: .fleet.hosts says $FLEET_SELF uses ${FLEET_BACKEND[$FLEET_SELF]}, .storage.backend says $BACKEND"
  fleet_paths
}
# Where the fleet's records are, and which backend family moves data (no .fleet needed).
fleet_paths() {
  FLEET_FAMILY=$(backend_family "$BACKEND")
  FLEET_DIR=$ROOT/.vm-state-fleet
}
backend_family() { if [[ $1 == zfs ]]; then echo zfs; else echo files; fi; }
# fbe OP ARGS...: the backend's fleet operation (files and xfs share theirs).
fbe() {
  local op=$1
  shift
  "${FLEET_FAMILY}_fleet_$op" "$@"
}

# A host of the fleet other than this one, whose backend can exchange states with ours.
need_peer() { # HOST
  check_name host "$1"
  [[ -n ${FLEET_ADDR[$1]:-} ]] ||
    die "$EX_CONFLICT" "unknown host $(shown "$1"): the fleet's hosts are ${FLEET_HOSTS[*]}"
  [[ $1 != "$FLEET_SELF" ]] || die "$EX_USAGE" "$1 is this host"
  [[ $(backend_family "${FLEET_BACKEND[$1]}") == "$FLEET_FAMILY" ]] ||
    die "$EX_CONFLICT" "$1 uses the ${FLEET_BACKEND[$1]} backend and $FLEET_SELF $BACKEND: states move between zfs hosts, or between files and xfs hosts"
}

# ---------------------------------------------------------------- records and locks

fleet_ready() {
  local d
  for d in "$FLEET_DIR" "$FLEET_DIR"/{in,out,moved,replicas,locks}; do
    not_a_link "$d"
    if [[ ! -d $d ]]; then attempt "creating $d" mkdir -p -- "$d"; fi
  done
}
rec_file() { printf '%s/%s/%s.json' "$FLEET_DIR" "$1" "$2"; } # KIND STATE
rec_has() { [[ -f $(rec_file "$1" "$2") ]]; }
# rec_get KIND STATE FIELD: the field's value (strings raw), nothing if absent or null.
rec_get() {
  local f
  f=$(rec_file "$1" "$2")
  [[ -f $f ]] || return 0
  not_a_link "$f"
  jq -r --arg k "$3" '.[$k] // empty | tostring' "$f"
}
# rec_put KIND STATE JSON: merges JSON into the record (written to a new file, renamed over).
rec_put() {
  local f tmp old='{}'
  f=$(rec_file "$1" "$2")
  fleet_ready
  not_a_link "$f"
  if [[ -f $f ]]; then old=$(<"$f"); fi
  # Like journal_edit: a full disk or a record that is not JSON stops with vm-state's message,
  # and the temporary file goes at exit (CLEANUP_FILES), whatever failed.
  local err
  if ! tmp=$(mktemp -- "$f.XXXXXX" 2>&1); then
    die "$EX_ERROR" "cannot write the record $f: $(last_line "$tmp")"
  fi
  CLEANUP_FILES+=("$tmp")
  if ! err=$(jq -n --argjson old "$old" --argjson new "$3" '$old + $new' 2>&1 >"$tmp"); then
    die "$EX_ERROR" "cannot write the record $f: $(last_line "${err:-jq failed}")"
  fi
  attempt "writing $f" mv -T -- "$tmp" "$f"
}
rec_del() { rm -f -- "$(rec_file "$1" "$2")"; }

# fleet_lock KIND STATE WHAT [now]: one transfer per state and kind at a time (fd 8, held until
# exit). Waits VM_STATE_LOCK_WAIT seconds like the main lock (the other end of a transfer that was
# cut may take a moment to notice), or with `now` not at all (a command's own transfer in flight
# here), then exits 3 naming the transfer.
fleet_lock() {
  local f how
  fleet_ready
  f=$FLEET_DIR/locks/$1-$2.lock
  not_a_link "$f"
  exec 8>>"$f"
  local wait=(-w "$LOCK_WAIT")
  how="waited ${LOCK_WAIT}s for $f"
  if [[ $LOCK_WAIT == 0 || ${4:-} == now ]]; then wait=(-n) how="another vm-state command holds $f"; fi
  flock "${wait[@]}" 8 || die "$EX_BUSY" "busy: $3 is in flight ($how)"
}
# The main lock, released while data streams (a transfer may take hours; every other change
# would wait for it). take_lock opens it again.
release_lock() { exec 9>&-; }

# The client's address, from $SSH_CLIENT ("ADDRESS PORT LOCALPORT"); empty when not run by sshd.
ssh_client_addr() {
  local c=${SSH_CLIENT:-}
  printf '%s' "${c%% *}"
}
fleet_log() {
  local line client
  client=$(ssh_client_addr)
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) ${client:--} $*"
  line=${line//[^[:print:]]/?}
  if [[ -n $FLEET_DIR && -d $FLEET_DIR && ! -L $FLEET_DIR/fleet.log ]]; then
    printf '%s\n' "$line" >>"$FLEET_DIR/fleet.log" 2>/dev/null || true
  fi
  logger -t vm-state-fleet -- "$line" >/dev/null 2>&1 || true
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---------------------------------------------------------------- SSH to another host

# The NixOS host writes both from infra.json's .fleet (nixos/lib/fleet.nix): each host by its
# name, its address and its pinned host key.
FLEET_SSH_CONFIG=${VM_STATE_FLEET_SSH_CONFIG:-/etc/microvm-infra/fleet/ssh_config}
FLEET_KNOWN_HOSTS=${VM_STATE_FLEET_KNOWN_HOSTS:-/etc/microvm-infra/fleet/known_hosts}
# The ssh command line for HOST: root@<address> with the transfer key, the host key checked
# against the known hosts file, no agent, no password, no configuration but VM_STATE_FLEET_SSH_CONFIG
# (the host's name is the destination and its address the HostName, so a `Host <name>` block
# there may set e.g. a Port; the tests use that for two sshd on 127.0.0.1).
fleet_ssh_cmd() {
  [[ -r $FLEET_KEY && -f $FLEET_KEY ]] ||
    die "$EX_ERROR" "cannot read the fleet's transfer key $(shown "$FLEET_KEY") (.fleet.transferKeyFile)"
  FLEET_SSH_CMD=(ssh -F "$FLEET_SSH_CONFIG" -i "$FLEET_KEY" -l root
    -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o StrictHostKeyChecking=yes
    -o "UserKnownHostsFile=$FLEET_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null
    -o ConnectTimeout=20 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o LogLevel=ERROR
    -o "HostName=${FLEET_ADDR[$1]}" "$1")
}
fleet_tmp() { # VAR...: each VAR names a new temporary file, removed at exit (CLEANUP_FILES)
  local var t
  for var in "$@"; do
    t=$(mktemp -- "${TMPDIR:-/tmp}/vm-state-fleet.XXXXXX")
    CLEANUP_FILES+=("$t")
    printf -v "$var" '%s' "$t"
  done
}
# fleet_relay HOST ERRFILE RC: shows what HOST said on stderr as "HOST: ..."; if RC is not 0,
# exits with HOST's code for busy (3) and not found/conflict (4), else 1.
fleet_relay() {
  local host=$1 rc=$3 lines=() line i n
  mapfile -t lines < <(sed -e "s/^$PROG: //" -e '/^$/d' "$2")
  n=${#lines[@]}
  if ((rc != 0 && n > 0)); then n=$((n - 1)); fi
  for ((i = 0; i < n; i++)); do log "$host: ${lines[i]}"; done
  ((rc == 0)) && return 0
  local last=${lines[n]:-}
  case $rc in
    255) die "$EX_ERROR" "cannot reach $host (${FLEET_ADDR[$host]}) over SSH: ${last:-ssh failed}" ;;
    3 | 4) die "$rc" "$host: $last" ;;
    2) die "$EX_ERROR" "$host refused the request: ${last:-exit 2} (is the same vm-state installed there?)" ;;
    *) die "$EX_ERROR" "$host: ${last:-failed with exit $rc}" ;;
  esac
}
# fleet_call HOST OP ARGS...: runs one operation of HOST's fleet-serve; prints its stdout.
fleet_call() {
  local host=$1 err out rc=0
  shift
  fleet_tmp err
  fleet_ssh_cmd "$host"
  out=$("${FLEET_SSH_CMD[@]}" "$*" </dev/null 2>"$err" 8>&- 9>&-) || rc=$?
  fleet_relay "$host" "$err" "$rc"
  printf '%s\n' "$out"
}
# Counts the bytes of a stream passing through (dd's summary in STATFILE). Test hook: with
# VM_STATE_TEST_PHASE=NAME, it passes the stream's first MiB and stops there (see phase).
fleet_meter() { # STATFILE NAME
  if [[ ${VM_STATE_TEST_PHASE:-} == "$2" ]]; then
    dd bs=64K count=16 iflag=fullblock status=none
    phase "$2"
  fi
  dd bs=1M 2>"$1"
}
stream_bytes() { sed -n 's/^\([0-9][0-9]*\) bytes.*/\1/p' "$1" | tail -1; }
# fleet_stream_from HOST "OP ARGS" NAME RECEIVER...: HOST's stream into a local receiver; sets
# FLEET_BYTES. HOST's failure is reported first (the receiver then only saw a cut stream).
fleet_stream_from() {
  local host=$1 cmd=$2 name=$3 err stat rcs
  shift 3
  fleet_tmp err stat
  fleet_ssh_cmd "$host"
  set +e
  "${FLEET_SSH_CMD[@]}" "$cmd" </dev/null 2>"$err" 8>&- 9>&- | fleet_meter "$stat" "$name" | "$@"
  rcs=("${PIPESTATUS[@]}")
  set -e
  FLEET_BYTES=$(stream_bytes "$stat")
  fleet_relay "$host" "$err" "${rcs[0]}"
  ((rcs[1] == 0)) || die "$EX_ERROR" "reading the stream from $host failed"
  ((rcs[2] == 0)) || die "$EX_ERROR" "receiving the stream from $host failed (see above)"
}
# fleet_stream_to HOST "OP ARGS" NAME SENDER...: a local stream into HOST's operation; sets
# FLEET_BYTES.
fleet_stream_to() {
  local host=$1 cmd=$2 name=$3 err stat rcs
  shift 3
  fleet_tmp err stat
  fleet_ssh_cmd "$host"
  set +e
  "$@" 8>&- 9>&- | fleet_meter "$stat" "$name" | "${FLEET_SSH_CMD[@]}" "$cmd" >/dev/null 2>"$err" 8>&- 9>&-
  rcs=("${PIPESTATUS[@]}")
  set -e
  FLEET_BYTES=$(stream_bytes "$stat")
  fleet_relay "$host" "$err" "${rcs[2]}"
  ((rcs[0] == 0)) || die "$EX_ERROR" "sending the stream to $host failed (see above)"
  ((rcs[1] == 0)) || die "$EX_ERROR" "sending the stream to $host failed"
}

# ---------------------------------------------------------------- fleet-serve

# The forced command of the transfer key. Reads the request from $SSH_ORIGINAL_COMMAND (never
# from a shell), allows only FLEET_OPS with their exact arguments, each validated (names by the
# one name rule, no paths), logs every request, refuses anything else with exit 2.
cmd_fleet_serve() {
  USAGE_LINE="fleet-serve (the forced command of the fleet's key: the request is in \$SSH_ORIGINAL_COMMAND)"
  (($# == 0)) || usage_error "fleet-serve takes no arguments: it reads the request from \$SSH_ORIGINAL_COMMAND"
  load_config
  load_fleet
  fleet_ready
  local request=${SSH_ORIGINAL_COMMAND-} words=()
  # sshd sets SSH_CLIENT for the forced command; without it the request did not come over SSH
  # (a shell or a unit ran it), and no peer's address could be checked.
  if [[ -z $(ssh_client_addr) ]]; then
    local what='(no request)'
    if [[ -n ${SSH_ORIGINAL_COMMAND+set} ]]; then what=$(shown "$request"); fi
    serve_refuse "$what: the request did not come over SSH (no \$SSH_CLIENT); fleet-serve is the forced command of the fleet's key, not for running by hand"
  fi
  if [[ -z ${SSH_ORIGINAL_COMMAND+set} ]]; then
    serve_refuse "no request (this key runs vm-state fleet operations only, no shell)"
  fi
  if ((${#request} > 4096)); then serve_refuse "a request of ${#request} characters"; fi
  if [[ ! $request =~ ^[a-z0-9_=-]+(\ [a-z0-9_=-]+)*$ ]]; then
    serve_refuse "$(shown "$request"): a request is an operation and names separated by single spaces"
  fi
  read -r -a words <<<"$request"
  local op=${words[0]} args=("${words[@]:1}")
  case " $FLEET_OPS " in
    *" $op "*) ;;
    *) serve_refuse "$(shown "$request"): unknown operation" ;;
  esac
  fleet_log "request: $request"
  SERVE_REQUEST=$request
  case $op in
    status) serve_status "${args[@]}" ;;
    send-snapshot) serve_args 2 "${args[@]}" && serve_send_snapshot "${args[@]}" ;;
    send-resume) serve_args 3 "${args[@]}" && serve_send_resume "${args[@]}" ;;
    stop-and-release) serve_args 2 "${args[@]}" && serve_stop_and_release "${args[@]}" ;;
    send-incremental) serve_args 2 "${args[@]}" && serve_send_incremental "${args[@]}" ;;
    finish-move) serve_args 2 "${args[@]}" && serve_finish_move "${args[@]}" ;;
    cancel-move) serve_args 2 "${args[@]}" && serve_cancel_move "${args[@]}" ;;
    receive-replica) serve_args 3 "${args[@]}" && serve_receive_replica "${args[@]}" ;;
    prune-replica) serve_prune_replica "${args[@]}" ;;
  esac
}
SERVE_REQUEST=''
serve_refuse() {
  fleet_log "refused: $*"
  die "$EX_USAGE" "fleet-serve refused $*; allowed: $FLEET_OPS (see vm-state help)"
}
serve_args() { # COUNT ARGS...
  local n=$1
  shift
  (($# == n)) || serve_refuse "$(shown "$SERVE_REQUEST"): expected $n argument(s), got $#"
}
# Names in a request are checked by the one rule; a refusal is logged like any other.
serve_name() { # KIND NAME
  is_name "$1" "$2" || serve_refuse "$(shown "$SERVE_REQUEST"): invalid $1 name $(shown "$2")"
}
# The host a request names as the other end must be a fleet host, not this one, and the
# connection must come from its address (so one host cannot act as another).
serve_peer() { # HOST
  serve_name host "$1"
  [[ -n ${FLEET_ADDR[$1]:-} && $1 != "$FLEET_SELF" ]] ||
    serve_refuse "$(shown "$SERVE_REQUEST"): $1 is not another host of the fleet"
  local client
  client=$(ssh_client_addr)
  if [[ $client != "${FLEET_ADDR[$1]}" ]]; then
    serve_refuse "$(shown "$SERVE_REQUEST"): $1's address is ${FLEET_ADDR[$1]}, this connection comes from $client"
  fi
  [[ $(backend_family "${FLEET_BACKEND[$1]}") == "$FLEET_FAMILY" ]] ||
    die "$EX_CONFLICT" "$1 uses the ${FLEET_BACKEND[$1]} backend and $FLEET_SELF $BACKEND: states move between zfs hosts, or between files and xfs hosts"
}

# status [STATE]: what this host knows about STATE (JSON), for the other end of a move or replica.
# shellcheck disable=SC2016 # jq programs, single-quoted on purpose
serve_status() {
  if (($# == 0)); then
    jq -cn --arg host "$FLEET_SELF" --arg backend "$BACKEND" '{host: $host, backend: $backend}'
    return 0
  fi
  serve_args 1 "$@"
  serve_name state "$1"
  local state=$1 exists=false slot='' running=false
  if be exists "$state"; then exists=true; fi
  if [[ $exists == true ]]; then
    slot=$(state_slot "$state")
    if [[ -n $slot ]] && is_running "$slot"; then running=true; fi
  fi
  local out='null' moved='null' replica='null' f
  f=$(rec_file out "$state")
  if [[ -f $f ]]; then out=$(<"$f"); fi
  f=$(rec_file moved "$state")
  if [[ -f $f ]]; then moved=$(<"$f"); fi
  if fbe replica_exists "$state"; then replica=$(fbe replica_json "$state"); fi
  jq -cn --arg host "$FLEET_SELF" --arg backend "$BACKEND" --arg state "$state" \
    --argjson exists "$exists" --arg slot "$slot" --argjson running "$running" \
    --argjson out "$out" --argjson moved "$moved" --argjson replica "$replica" '
    {host: $host, backend: $backend, state: $state, exists: $exists,
     slot: (if $slot == "" then null else $slot end), running: $running,
     moving: (if $out == null then null else {to: $out.to, phase: $out.phase} end),
     movedTo: (if $moved == null then null else $moved.to end), replica: $replica}'
}

# The source's side of a move. Every operation names the target, which must be the one the
# move's record names: a state moves to one host at a time.
out_check() { # STATE TO [PHASE...]: the record of a move of STATE to TO, in one of PHASES
  local to phase
  to=$(rec_get out "$1" to)
  if [[ -z $to ]]; then
    die "$EX_CONFLICT" "no move of state $1 is in progress here (it starts with send-snapshot)"
  fi
  [[ $to == "$2" ]] || die "$EX_CONFLICT" "state $1 is being moved to $to; a state moves to one host at a time (cancel that move first: vm-state fleet-cancel $1 on $FLEET_SELF)"
  (($# > 2)) || return 0
  phase=$(rec_get out "$1" phase)
  [[ " ${*:3} " == *" $phase "* ]] ||
    die "$EX_CONFLICT" "the move of $1 to $2 is at phase $phase, not ${*:3}"
}

serve_send_snapshot() { # STATE TO
  serve_name state "$1"
  serve_peer "$2"
  local state=$1 to=$2
  fleet_lock out "$state" "a move of state $state out of $FLEET_SELF"
  take_lock
  need_state "$state"
  local current
  current=$(rec_get out "$state" to)
  if [[ -n $current ]]; then
    out_check "$state" "$to"
  else
    rec_put out "$state" "$(jq -cn --arg to "$to" --argjson at "$(date +%s)" '{to: $to, phase: "copying", since: $at}')"
  fi
  fbe out_prepare "$state" initial
  release_lock
  log "sending state $state to $to while it runs"
  fbe out_send "$state" initial
}

serve_send_resume() { # STATE TO TOKEN
  serve_name state "$1"
  serve_peer "$2"
  [[ $3 =~ ^[0-9a-f]+(-[0-9a-f]+)+$ ]] || serve_refuse "$(shown "$SERVE_REQUEST"): not a resume token"
  local state=$1 to=$2
  fleet_lock out "$state" "a move of state $state out of $FLEET_SELF"
  out_check "$state" "$to" copying released
  need_state "$state"
  fbe out_send_resume "$state" "$3" _fleet-move-
}

serve_stop_and_release() { # STATE TO: stops the slot that runs STATE, detaches it, final mark
  serve_name state "$1"
  serve_peer "$2"
  local state=$1 to=$2 slot running=false
  fleet_lock out "$state" "a move of state $state out of $FLEET_SELF"
  take_lock
  out_check "$state" "$to" copying releasing released
  need_state "$state"
  if [[ $(rec_get out "$state" phase) != released ]]; then
    slot=$(state_slot "$state")
    if [[ $(rec_get out "$state" phase) == releasing ]]; then slot=$(rec_get out "$state" slot); fi
    if [[ -n $slot ]] && is_running "$slot"; then running=true; fi
    if [[ $(rec_get out "$state" phase) == releasing && $(rec_get out "$state" wasRunning) == true ]]; then running=true; fi
    rec_put out "$state" "$(jq -cn --arg slot "$slot" --argjson running "$running" \
      '{phase: "releasing", slot: (if $slot == "" then null else $slot end), wasRunning: $running}')"
    if [[ -n $slot ]]; then
      if is_running "$slot"; then stop_slot "$slot"; fi
      # Its disk is gone from the slot: nothing (not a reboot, not a later change) starts it here.
      if [[ $(slot_state "$slot") == "$state" ]]; then rm -f -- "$(slot_link "$slot")"; fi
      log "$slot released $state for the move to $to"
    fi
    fbe out_prepare "$state" final
    rec_put out "$state" '{"phase": "released"}'
  fi
  jq -cn --arg slot "$(rec_get out "$state" slot)" --argjson running "$(rec_get out "$state" wasRunning)" \
    '{slot: (if $slot == "" then null else $slot end), wasRunning: $running}'
}

serve_send_incremental() { # STATE TO
  serve_name state "$1"
  serve_peer "$2"
  local state=$1 to=$2
  fleet_lock out "$state" "a move of state $state out of $FLEET_SELF"
  out_check "$state" "$to" released
  need_state "$state"
  log "sending what changed in $state since the first copy"
  fbe out_send "$state" final
}

serve_finish_move() { # STATE TO: the target holds the state now; the copy here is hidden
  serve_name state "$1"
  serve_peer "$2"
  local state=$1 to=$2
  fleet_lock out "$state" "a move of state $state out of $FLEET_SELF"
  take_lock
  if ! rec_has out "$state" && [[ $(rec_get moved "$state" to) == "$to" ]]; then
    log "state $state was already moved to $to"
    return 0
  fi
  out_check "$state" "$to" released
  finish_move "$state" "$to"
}
finish_move() { # STATE TO (under the lock)
  local hidden
  hidden=$(fbe out_hide "$1")
  rec_put moved "$1" "$(jq -cn --arg to "$2" --arg hidden "$hidden" --argjson at "$(date +%s)" \
    '{to: $to, at: $at, hidden: $hidden}')"
  rec_del out "$1"
  log "state $1 moved to $2; the copy here is kept hidden as $hidden until 'vm-state gc --fleet-moved'"
}

serve_cancel_move() { # STATE TO
  serve_name state "$1"
  serve_peer "$2"
  fleet_lock out "$1" "a move of state $1 out of $FLEET_SELF"
  take_lock
  out_check "$1" "$2"
  cancel_move "$1"
}
# Undoes a move out of this host: the fleet's marks go, the slot gets its disk back and starts
# again if it ran (under the lock).
cancel_move() { # STATE
  local state=$1 slot running
  slot=$(rec_get out "$state" slot) running=$(rec_get out "$state" wasRunning)
  fbe out_cleanup "$state"
  if [[ -n $slot ]] && is_slot "$slot" && [[ ! -e $(slot_link "$slot") && ! -L $(slot_link "$slot") ]]; then
    attempt "relinking $slot" ln -sn -- "$(state_img "$state")" "$(slot_link "$slot")"
    log "$slot -> $state again"
  fi
  rec_del out "$state"
  if [[ -n $slot && $running == true ]] && ! is_running "$slot"; then
    start_slot "$slot"
    wait_running "$slot"
  fi
  log "the move of $state was cancelled; it stays here${slot:+ on $slot}"
}

# The target's side of replication.
serve_receive_replica() { # STATE FROM SNAP|resume
  serve_name state "$1"
  serve_peer "$2"
  local state=$1 from=$2 snap=$3 have
  [[ $snap == resume || $snap =~ ^_replica-${FLEET_SELF}-[0-9]{8}-[0-9]{6}(-[0-9]+)?$ ]] ||
    serve_refuse "$(shown "$SERVE_REQUEST"): not a replica snapshot name for $FLEET_SELF"
  fleet_lock replica "$state" "a replication of state $state into $FLEET_SELF"
  have=$(rec_get replicas "$state" from)
  if [[ -n $have && $have != "$from" ]]; then
    die "$EX_CONFLICT" "$FLEET_SELF holds a replica of $state from $have, not from $from"
  fi
  if [[ -z $have ]] && fbe replica_exists "$state"; then
    die "$EX_CONFLICT" "$FLEET_SELF holds replica data of $state that no record names; remove it first"
  fi
  rec_put replicas "$state" "$(jq -cn --arg from "$from" '{from: $from}')"
  fbe replica_receive "$state" "$snap"
  jq -cn --arg snap "$snap" '{received: $snap}'
}

serve_prune_replica() { # STATE FROM [hourly=N] [daily=N] [weekly=N] [monthly=N]
  (($# >= 2 && $# <= 6)) || serve_refuse "$(shown "$SERVE_REQUEST"): expected STATE FROM and up to four KIND=N"
  serve_name state "$1"
  serve_peer "$2"
  local state=$1 from=$2 arg keep='{}'
  shift 2
  for arg in "$@"; do
    [[ $arg =~ ^(hourly|daily|weekly|monthly)=(0|[1-9][0-9]{0,4})$ ]] ||
      serve_refuse "$(shown "$SERVE_REQUEST"): $(shown "$arg") is not KIND=N (hourly, daily, weekly, monthly)"
    keep=$(jq -cn --argjson k "$keep" --arg kind "${BASH_REMATCH[1]}" --argjson n "${BASH_REMATCH[2]}" '$k + {($kind): $n}')
  done
  fleet_lock replica "$state" "a replication of state $state into $FLEET_SELF"
  [[ $(rec_get replicas "$state" from) == "$from" ]] ||
    die "$EX_CONFLICT" "$FLEET_SELF holds no replica of $state from $from"
  prune_replica "$state" "$keep"
}
# Keeps, of the replica's _replica-* snapshots, the newest one and the newest of each of the last
# N hours, days, ISO weeks and months that have one (as sanoid counts); destroys the others, and
# the replica's other snapshots (a state's own, sent along by zfs send -I) older than the oldest
# kept. Prints {kept, pruned}.
# shellcheck disable=SC2016 # jq programs, single-quoted on purpose
prune_replica() { # STATE KEEP_JSON
  local state=$1 snaps=() keep_names=() name result
  mapfile -t snaps < <(fbe replica_snaps "$state")
  ((${#snaps[@]})) || {
    echo '{"kept":[],"pruned":[]}'
    return 0
  }
  result=$(jq -cn --argjson keep "$2" '
    [$ARGS.positional[] | {name: ., m: capture("^_replica-.*-(?<t>[0-9]{8}-[0-9]{6})(-(?<n>[0-9]+))?$")}]
    | map(select(.m != null)) | map({name, t: (.m.t | strptime("%Y%m%d-%H%M%S") | mktime), n: ((.m.n // "0") | tonumber)})
    | sort_by(.t, .n) | reverse as $s
    | def pick($n; $fmt): reduce $s[] as $x ({seen: [], keep: []};
        ($x.t | strftime($fmt)) as $k
        | if (.seen | length) >= $n or any(.seen[]; . == $k) then . else .seen += [$k] | .keep += [$x.name] end)
        | .keep;
      if ($s | length) == 0 then [] else
        [$s[0].name] + pick($keep.hourly // 0; "%Y%m%d%H") + pick($keep.daily // 0; "%Y%m%d")
        + pick($keep.weekly // 0; "%G%V") + pick($keep.monthly // 0; "%Y%m") | unique end' --args "${snaps[@]}")
  mapfile -t keep_names < <(jq -r '.[]' <<<"$result")
  local oldest_kept='' i pruned=() kept=()
  for ((i = 0; i < ${#snaps[@]}; i++)); do
    if [[ " ${keep_names[*]} " == *" ${snaps[i]} "* ]]; then
      oldest_kept=${snaps[i]}
      break
    fi
  done
  local before=1
  for name in "${snaps[@]}"; do
    if [[ $name == "$oldest_kept" ]]; then before=0; fi
    if [[ " ${keep_names[*]} " == *" $name "* ]] || { [[ $name != _replica-* ]] && ((!before)); }; then
      kept+=("$name")
      continue
    fi
    fbe replica_destroy_snap "$state" "$name"
    pruned+=("$name")
  done
  if ((${#pruned[@]})); then log "replica of $state: pruned ${pruned[*]}"; fi
  jq -cn '{kept: $ARGS.named.k | split(" ") | map(select(. != "")), pruned: $ARGS.named.p | split(" ") | map(select(. != ""))}' \
    --arg k "${kept[*]}" --arg p "${pruned[*]}"
}

# ---------------------------------------------------------------- fleet-pull (on the target)

# fleet_locate STATE: the other host that holds STATE, for `fleet-pull --from-any`: the one an
# interrupted pull recorded, else the only other host that has it; nothing when none has it (or
# it is here already). Two holders, or a host that cannot be asked, stop it: guessing could move
# the wrong copy.
fleet_locate() {
  local state=$1 recorded host found_on=() status
  recorded=$(rec_get in "$state" from)
  if [[ -n $recorded ]]; then
    printf '%s' "$recorded"
    return 0
  fi
  if be exists "$state"; then return 0; fi
  for host in "${FLEET_HOSTS[@]}"; do
    [[ $host == "$FLEET_SELF" ]] && continue
    status=$(fleet_call "$host" status "$state")
    if [[ $(jq -r '.exists' <<<"$status") == true ]]; then found_on+=("$host"); fi
  done
  if ((${#found_on[@]} > 1)); then
    die "$EX_CONFLICT" "state $state is on several hosts (${found_on[*]}); pull it from one explicitly (vm-state fleet-pull $state --from HOST)"
  fi
  printf '%s' "${found_on[0]:-}"
}

cmd_fleet_pull() {
  USAGE_LINE='fleet-pull STATE (--from HOST | --from-any) [--slot SLOT] [--json] | fleet-pull STATE --from HOST --abort'
  parse_args "--json --abort --from-any" "--from --slot" "$@"
  want_args 1
  local state=${POS[0]} from=${OPT[--from]:-} slot=${OPT[--slot]:-}
  check_state "$state"
  if flag --from-any && [[ -n $from ]]; then usage_error "--from and --from-any exclude each other"; fi
  if flag --from-any && flag --abort; then usage_error "--abort needs --from HOST"; fi
  [[ -n $from ]] || flag --from-any || usage_error "fleet-pull needs --from HOST (the host that holds the state now) or --from-any"
  if [[ -n $slot ]]; then check_slot "$slot"; fi
  if flag --abort && [[ -n $slot ]]; then usage_error "--abort takes no --slot"; fi
  load_config
  load_fleet
  if flag --from-any; then
    from=$(fleet_locate "$state")
    if [[ -z $from ]]; then
      if be exists "$state"; then
        log "state $state is here already; nothing to move"
      else
        log "state $state is on no host of the fleet yet; nothing to move"
      fi
      return 0
    fi
    log "state $state is on $from; pulling it here"
  fi
  check_name host "$from"
  need_peer "$from"
  if [[ -n $slot ]]; then need_slot "$slot"; fi
  fleet_lock in "$state" "a move of state $state into $FLEET_SELF" now
  ARRIVING=$state
  if flag --abort; then
    pull_abort "$state" "$from"
    return 0
  fi

  local recorded status phase resumed=false
  recorded=$(rec_get in "$state" from)
  if [[ -n $recorded && $recorded != "$from" ]]; then
    die "$EX_CONFLICT" "an interrupted move of $state from $recorded is recorded here; finish it (vm-state fleet-pull $state --from $recorded) or abort it (--abort)"
  fi
  status=$(fleet_call "$from" status "$state")
  if [[ -z $recorded ]]; then
    take_lock
    if be exists "$state"; then
      if [[ $(jq -r '.exists' <<<"$status") == true ]]; then
        die "$EX_CONFLICT" "state $state exists both here and on $from; nothing was moved"
      fi
      log "state $state is already here (moved from $from); nothing to do"
      if [[ -n $slot ]]; then switch_slots assign "$slot" "$state"; fi
      pull_summary "$state" "$from" "$slot" '{"done": true, "already": true}'
      return 0
    fi
    need_new_state "$state"
    release_lock
    [[ $(jq -r '.exists' <<<"$status") == true ]] || die "$EX_CONFLICT" "$from has no state $(shown "$state")"
    local moving
    moving=$(jq -r '.moving.to // empty' <<<"$status")
    if [[ -n $moving && $moving != "$FLEET_SELF" ]]; then
      die "$EX_CONFLICT" "state $state is being moved from $from to $moving; a state moves to one host at a time"
    fi
    rec_put in "$state" "$(jq -cn --arg from "$from" --argjson at "$(date +%s)" \
      '{from: $from, phase: "copying", since: $at, bytesWhileRunning: 0, bytesWhileStopped: 0}')"
  else
    resumed=true
    log "resuming the move of $state from $from (phase $(rec_get in "$state" phase))"
  fi

  phase=$(rec_get in "$state" phase)
  if [[ $phase == copying ]]; then
    pull_copy "$state" "$from" initial
    rec_put in "$state" '{"phase": "copied"}'
    phase=copied
  fi
  phase copied
  if [[ $phase == copied ]]; then
    local t0 released
    t0=$(now_ms)
    rec_put in "$state" "$(jq -cn --argjson t "$t0" '{stoppedAt: $t}')"
    released=$(fleet_call "$from" stop-and-release "$state" "$FLEET_SELF")
    rec_put in "$state" "$(jq -c '{phase: "released", sourceSlot: .slot, sourceRan: .wasRunning}' <<<"$released")"
    phase=released
  fi
  phase released
  if [[ $phase == released ]]; then
    ON_FAILURE=(pull_catchup_failed "$state" "$from")
    pull_copy "$state" "$from" final
    ON_FAILURE=()
    rec_put in "$state" '{"phase": "caught-up"}'
    phase=caught-up
  fi
  phase caught-up
  if [[ $phase == caught-up ]]; then
    take_lock
    need_new_state "$state"
    fbe in_place "$state"
    rec_put in "$state" '{"phase": "placed"}'
    log "state $state is complete here"
    release_lock
    phase=placed
  fi
  phase placed
  if [[ -n $slot ]]; then
    take_lock
    switch_slots assign "$slot" "$state"
    release_lock
  fi
  fleet_call "$from" finish-move "$state" "$FLEET_SELF" >/dev/null
  local record
  record=$(<"$(rec_file in "$state")")
  rec_del in "$state"
  pull_summary "$state" "$from" "$slot" "$(jq -c --argjson now "$(now_ms)" --argjson resumed "$resumed" \
    '{done: true, already: false, resumed: $resumed, bytesWhileRunning, bytesWhileStopped,
      sourceSlot, stoppedMs: (if .sourceRan then $now - .stoppedAt else null end)}' <<<"$record")"
}

# One stream of the move: initial (the state while it runs) or final (what changed, once stopped).
# A zfs receive cut short keeps its state and a resume token: the next run resumes from there.
# The bytes are added to the record (bytesWhileRunning, bytesWhileStopped).
pull_copy() { # STATE FROM initial|final
  local state=$1 from=$2 which=$3 token name=copying op=send-snapshot field=bytesWhileRunning
  if [[ $which == final ]]; then name=catching-up op=send-incremental field=bytesWhileStopped; fi
  FLEET_BYTES=0
  token=$(fbe in_token "$state")
  if [[ -n $token ]]; then
    log "resuming the interrupted copy of $state from $from"
    fleet_stream_from "$from" "send-resume $state $FLEET_SELF $token" "$name" fbe in_receive "$state" resume
  else
    if [[ $which == initial ]]; then
      fbe in_abort "$state"
      log "copying $state from $from while it runs"
    else
      log "copying what changed in $state since, while it is stopped"
    fi
    fleet_stream_from "$from" "$op $state $FLEET_SELF" "$name" fbe in_receive "$state" "$which"
  fi
  rec_put in "$state" "$(jq -cn --arg f "$field" --argjson b "${FLEET_BYTES:-0}" --argjson old "$(rec_get in "$state" "$field")" \
    '{($f): ($old + $b)}')"
  fbe in_complete "$state" "$which" || die "$EX_ERROR" "the $which copy of $state from $from is incomplete"
}

# Run on exit when the catch-up failed while the source is stopped: start the state there again
# (the move is undone on both ends), so a failed move never leaves the VM down.
pull_catchup_failed() { # STATE FROM
  log "the catch-up of $1 from $2 failed; starting it again on $2"
  if (fleet_call "$2" cancel-move "$1" "$FLEET_SELF" >/dev/null); then
    fbe in_abort "$1"
    rec_del in "$1"
    log "the move of $1 from $2 is undone: it runs on $2 again; run the same fleet-pull to try again"
  else
    log "$2 could not start $1 again: it is stopped there; re-run the same fleet-pull to finish the move, or run 'vm-state fleet-cancel $1' on $2 and 'vm-state fleet-pull $1 --from $2 --abort' here"
  fi
}

pull_abort() { # STATE FROM
  local state=$1 from=$2 phase
  phase=$(rec_get in "$state" phase)
  if [[ $phase == placed ]]; then
    die "$EX_CONFLICT" "the move of $state from $from is complete here already; finish it: vm-state fleet-pull $state --from $from"
  fi
  if [[ -n $phase && $(rec_get in "$state" from) != "$from" ]]; then
    die "$EX_CONFLICT" "the move recorded here for $state is from $(rec_get in "$state" from), not $from"
  fi
  local status
  status=$(fleet_call "$from" status "$state")
  if [[ $(jq -r '.moving.to // empty' <<<"$status") == "$FLEET_SELF" ]]; then
    fleet_call "$from" cancel-move "$state" "$FLEET_SELF" >/dev/null
  fi
  fbe in_abort "$state"
  rec_del in "$state"
  log "the move of $state from $from is rolled back: nothing of it is here, and it stays on $from"
}

# shellcheck disable=SC2016 # jq programs, single-quoted on purpose
pull_summary() { # STATE FROM SLOT RESULT_JSON
  local json
  json=$(jq -c --arg state "$1" --arg from "$2" --arg to "$FLEET_SELF" --arg slot "$3" \
    '{state: $state, from: $from, to: $to, slot: (if $slot == "" then null else $slot end)} + .' <<<"$4")
  log "$(jq -r "$JQ_TABLES"'
    if .already then "state \(.state) is already on \(.to) (moved from \(.from))"
    else "moved state \(.state) from \(.from) to \(.to): \(.bytesWhileRunning | size) sent while it ran, \(.bytesWhileStopped | size) after it stopped; "
      + (if .stoppedMs == null then "it ran nowhere during the move"
         else "\(.sourceSlot) on \(.from) was stopped for \(.stoppedMs / 1000) s" end)
      + (if .slot then "; \(.slot) runs it now" else "" end)
      + (if .resumed then " (resumed an interrupted move)" else "" end) end' <<<"$json")"
  if flag --json; then printf '%s\n' "$json"; fi
}

# fleet-cancel STATE, on the source: undo a move out of this host that the target cannot finish.
cmd_fleet_cancel() {
  USAGE_LINE='fleet-cancel STATE'
  parse_args "" "" "$@"
  want_args 1
  local state=${POS[0]}
  check_state "$state"
  load_config
  load_fleet
  fleet_lock out "$state" "a move of state $state out of $FLEET_SELF"
  take_lock
  rec_has out "$state" || die "$EX_CONFLICT" "no move of state $state out of $FLEET_SELF is in progress"
  log "cancelling the move of $state to $(rec_get out "$state" to) (run 'vm-state fleet-pull $state --from $FLEET_SELF --abort' there)"
  cancel_move "$state"
}

# ---------------------------------------------------------------- replication (on the source)

cmd_replicate() {
  USAGE_LINE='replicate STATE --to HOST [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--json]'
  parse_args "--json" "--to --keep-hourly --keep-daily --keep-weekly --keep-monthly" "$@"
  want_args 1
  local state=${POS[0]} to=${OPT[--to]:-} kind keep='' n
  check_state "$state"
  [[ -n $to ]] || usage_error "replicate needs --to HOST (the host that keeps the replica)"
  check_name host "$to"
  for kind in hourly daily weekly monthly; do
    n=${OPT[--keep-$kind]:-}
    [[ -z $n ]] && continue
    [[ $n =~ ^(0|[1-9][0-9]{0,4})$ ]] || usage_error "invalid --keep-$kind $(shown "$n"): use a whole number"
    keep+=" $kind=$n"
  done
  load_config
  load_fleet
  need_peer "$to"
  if [[ -z $keep ]]; then keep=$(replica_keep_from_config "$state" "$to"); fi
  fleet_lock replicate "$state" "a replication of state $state" now
  take_lock
  need_state "$state"
  release_lock

  local status token base base_guid started
  started=$(now_ms)
  status=$(fleet_call "$to" status "$state")
  local holder
  holder=$(jq -r '.replica.from // empty' <<<"$status")
  if [[ -n $holder && $holder != "$FLEET_SELF" ]]; then
    die "$EX_CONFLICT" "$to holds a replica of $state from $holder, not from $FLEET_SELF"
  fi
  token=$(jq -r '.replica.resumeToken // empty' <<<"$status")
  if [[ -n $token ]]; then
    log "resuming the interrupted replication of $state to $to"
    fleet_stream_to "$to" "receive-replica $state $FLEET_SELF resume" replicating \
      fbe out_send_resume "$state" "$token" "_replica-$to-"
    status=$(fleet_call "$to" status "$state")
  fi
  base=$(jq -r '.replica.latest // empty' <<<"$status")
  base_guid=$(jq -r '.replica.latestGuid // empty' <<<"$status")
  if [[ -n $base ]] && ! fbe repl_has_base "$state" "$base" "$base_guid"; then
    die "$EX_CONFLICT" "$to's replica of $state ends at $base, which $FLEET_SELF no longer has: no common snapshot for an incremental send; remove the replica on $to (zfs destroy -r <pool>/replicas/$state there) to start it again"
  fi
  local snap
  snap=$(replica_snapshot_name "$state" "$to" "$status")
  take_lock
  need_state "$state"
  fbe repl_mark "$state" "$snap"
  release_lock
  log "replicating $state to $to as $snap${base:+ (incremental from $base)}"
  fleet_stream_to "$to" "receive-replica $state $FLEET_SELF $snap" replicating \
    fbe repl_send "$state" "$snap" "$base"
  local bytes=$FLEET_BYTES pruned
  take_lock
  fbe repl_done "$state" "$snap" "$to"
  release_lock
  # shellcheck disable=SC2086 # KIND=N words
  pruned=$(fleet_call "$to" prune-replica "$state" "$FLEET_SELF" $keep)
  local json
  json=$(jq -c --arg state "$state" --arg to "$to" --arg snap "$snap" --arg base "$base" \
    --argjson bytes "${bytes:-0}" --argjson ms "$(($(now_ms) - started))" --arg keep "$keep" \
    '{state: $state, to: $to, snapshot: $snap, incrementalFrom: (if $base == "" then null else $base end),
      bytes: $bytes, ms: $ms, keep: ($keep | split(" ") | map(select(. != "") | split("=") | {(.[0]): (.[1] | tonumber)}) | add // {}),
      kept: .kept, pruned: .pruned}' <<<"$pruned")
  log "$(jq -r "$JQ_TABLES"'"replicated \(.state) to \(.to): \(.snapshot), \(.bytes | size) sent"
    + (if .incrementalFrom then " (incremental)" else " (full)" end)
    + " in \(.ms / 1000) s; \(.to) keeps \(.kept | map(select(startswith("_replica-"))) | length) replica snapshot(s)"' <<<"$json")"
  if flag --json; then printf '%s\n' "$json"; fi
}
# The keep counts for STATE to HOST from .fleet.replicas ("hourly=N ..."), or none (keep the newest).
replica_keep_from_config() { # STATE TO
  local i keep=''
  for ((i = 0; i + 6 < ${#FLEET_REPLICAS[@]}; i += 7)); do
    if [[ ${FLEET_REPLICAS[i]} == "$1" && ${FLEET_REPLICAS[i + 1]} == "$FLEET_SELF" && ${FLEET_REPLICAS[i + 2]} == "$2" ]]; then
      local kinds=(hourly daily weekly monthly) k
      for k in 0 1 2 3; do
        [[ ${FLEET_REPLICAS[i + 3 + k]} =~ ^(0|[1-9][0-9]{0,4})$ ]] ||
          die "$EX_ERROR" "$CONFIG: .fleet.replicas: keep.${kinds[k]} of $1 must be a whole number"
        keep+=" ${kinds[k]}=${FLEET_REPLICAS[i + 3 + k]}"
      done
    fi
  done
  printf '%s' "$keep"
}
# _replica-<to>-YYYYMMDD-HHMMSS[-N]: a name neither here nor on the target yet.
replica_snapshot_name() { # STATE TO STATUS_JSON
  local taken
  taken=" $(jq -r '.replica.snapshots // [] | join(" ")' <<<"$3") "
  free_name "_replica-$2-$(date -u +%Y%m%d-%H%M%S)" replica_name_taken "$taken" "$1"
}
# replica_name_taken TAKEN STATE NAME: NAME is one of TAKEN (" the target's names ") or here.
replica_name_taken() { [[ $1 == *" $3 "* ]] || fbe repl_exists "$2" "$3"; }

# ---------------------------------------------------------------- replica-promote (on the target)

cmd_replica_promote() {
  USAGE_LINE='replica-promote STATE [--as NAME]'
  parse_args "" "--as" "$@"
  want_args 1
  local state=${POS[0]} name=${OPT[--as]:-${POS[0]}}
  check_state "$state"
  check_state "$name"
  load_config
  load_fleet
  fleet_lock replica "$state" "a replication of state $state into $FLEET_SELF"
  take_lock
  fbe replica_exists "$state" || die "$EX_CONFLICT" "no replica of state $(shown "$state") here (see: vm-state list --all)"
  need_new_state "$name"
  local from
  from=$(rec_get replicas "$state" from)
  fbe replica_promote "$state" "$name"
  rec_del replicas "$state"
  log "the replica of $state${from:+ from $from} is now the state $name here; its earlier copies are its snapshots replica-*; run it: vm-state assign SLOT $name"
}

# _replica-<host>-YYYYMMDD-HHMMSS[-N] -> replica-YYYYMMDD-HHMMSS[-N], a snapshot name users can use.
replica_visible_name() {
  [[ $1 =~ -([0-9]{8}-[0-9]{6}(-[0-9]+)?)$ ]] || die "$EX_ERROR" "not a replica snapshot: $(shown "$1")"
  printf 'replica-%s' "${BASH_REMATCH[1]}"
}

# ---------------------------------------------------------------- gc and list --all

# Destroys the hidden copies of states moved to another host (gc --fleet-moved).
fleet_gc_moved() { # [STATE...]: only those states' copies (none given: every one)
  local f state hidden
  fleet_paths
  [[ -d $FLEET_DIR/moved ]] || return 0
  for f in "$FLEET_DIR"/moved/*.json; do
    state=${f##*/}
    state=${state%.json}
    if (($#)) && ! printf '%s\n' "$@" | grep -qxF -- "$state"; then continue; fi
    hidden=$(rec_get moved "$state" hidden)
    [[ -n $hidden ]] || continue
    fbe out_purge "$hidden"
    rec_put moved "$state" "$(jq -cn --argjson at "$(date +%s)" '{hidden: null, purged: $at}')"
    log "gc: removed $hidden, the copy of $state kept after its move to $(rec_get moved "$state" to)"
  done
}
# Hidden fleet data, for list --all: copies kept after a move, moves arriving, replicas held.
fleet_hidden() {
  local f state rows=() kind
  fleet_paths
  if [[ ! -d $FLEET_DIR ]]; then
    echo '[]'
    return 0
  fi
  for kind in moved in replicas; do
    for f in "$FLEET_DIR/$kind"/*.json; do
      [[ -f $f && ! -L $f ]] || continue
      state=${f##*/}
      state=${state%.json}
      case $kind in
        moved) rows+=("$(jq -c --arg s "$state" 'select(.hidden != null)
          | {name: .hidden, was: "\($s) (moved to \(.to); vm-state gc --fleet-moved removes it)", heldBy: []}' "$f")") ;;
        in) rows+=("$(jq -c --arg s "$state" --arg n "$(fbe in_name "$state")" \
          '{name: $n, was: "\($s) (arriving from \(.from): \(.phase))", heldBy: []}' "$f")") ;;
        replicas) rows+=("$(jq -c --arg s "$state" --arg n "$(fbe replica_name "$state")" --argjson count "$(fbe replica_snaps "$state" | grep -c . || true)" \
          '{name: $n, was: "replica of \($s) from \(.from) (\($count) snapshots; vm-state replica-promote \($s) makes it a state)", heldBy: []}' "$f")") ;;
      esac
    done
  done
  printf '%s\n' "${rows[@]}" | jq -cs 'map(select(. != null))'
}

# A new state may not take the name of one arriving here (fleet-pull places it under that name
# last); fleet-pull itself sets ARRIVING to the state it places.
ARRIVING=''
need_not_arriving() { # STATE
  local f=$ROOT/.vm-state-fleet/in/$1.json
  if [[ -f $f && $1 != "$ARRIVING" ]]; then
    die "$EX_CONFLICT" "state $1 is arriving from $(jq -r '.from' "$f" 2>/dev/null || echo 'another host') (vm-state fleet-pull; --abort rolls it back)"
  fi
}
# Local changes refuse a state that is leaving this host (its slot is stopped and detached).
need_not_leaving() { # STATE
  local f=$ROOT/.vm-state-fleet/out/$1.json
  if [[ -f $f ]]; then
    die "$EX_CONFLICT" "state $1 is being moved to $(jq -r '.to' "$f" 2>/dev/null || echo 'another host') (vm-state fleet-cancel $1 keeps it here)"
  fi
}
