# shellcheck shell=bash disable=SC2034,SC2153
# (globals are shared between the parts of vm-state: assigned in one, read in another)
# vm-state: what every command and backend shares (sourced by ../vm-state, see there).

# ---------------------------------------------------------------- messages

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
# Appended to every fatal message while a command finishes what an interrupted one left.
RECOVERY_NOTE=''
die() {
  local code=$1
  shift
  log "$*"
  if [[ -n $RECOVERY_NOTE ]]; then log "$RECOVERY_NOTE"; fi
  exit "$code"
}
# Shows a name inside a message without letting control characters reach a terminal.
shown() { printf "'%s'" "${1//[^[:print:]]/?}"; }
last_line() {
  local text=${1%$'\n'}
  printf '%s' "${text##*$'\n'}"
}

USAGE_LINE=''
usage_error() {
  log "$*"
  if [[ -n $USAGE_LINE ]]; then printf 'Usage: %s %s\n' "$PROG" "$USAGE_LINE" >&2; fi
  printf "Run '%s help' for all commands.\n" "$PROG" >&2
  exit "$EX_USAGE"
}

# attempt WHAT COMMAND...: runs an external command; if it fails, exits 1 with a vm-state message
# that names WHAT and quotes the command's own last error line (e.g. "No space left on device").
attempt() {
  local what=$1 err
  shift
  if ! err=$("$@" 2>&1 >/dev/null); then
    die "$EX_ERROR" "$what failed: $(last_line "${err:-exit status $?}")"
  fi
}

# Test hook: with VM_STATE_TEST_PHASE=NAME, vm-state writes VM_STATE_TEST_PHASE_FILE when it
# reaches phase NAME and waits there to be killed, so tests can interrupt it at a chosen point.
# With VM_STATE_TEST_PHASE_RESUME=FILE as well, it goes on once FILE exists instead.
phase() {
  if [[ ${VM_STATE_TEST_PHASE:-} == "$1" ]]; then
    printf '%s\n' "$$" >"${VM_STATE_TEST_PHASE_FILE:?VM_STATE_TEST_PHASE needs VM_STATE_TEST_PHASE_FILE}"
    if [[ -n ${VM_STATE_TEST_PHASE_RESUME:-} ]]; then
      until [[ -e $VM_STATE_TEST_PHASE_RESUME ]]; do sleep 0.05; done
      return 0
    fi
    while :; do sleep 1; done
  fi
}

# ---------------------------------------------------------------- arguments

declare -A OPT=()
POS=()
# parse_args "BOOLEAN FLAGS" "FLAGS WITH A VALUE" ARGS... -> OPT[--flag], POS[]
parse_args() {
  local bools=" $1 " values=" $2 " arg
  shift 2
  OPT=()
  POS=()
  while (($#)); do
    arg=$1
    case $arg in
      --)
        shift
        POS+=("$@")
        break
        ;;
      -) POS+=("$arg") ;;
      --*=*)
        [[ $values == *" ${arg%%=*} "* ]] || usage_error "unknown option $(shown "${arg%%=*}")"
        OPT[${arg%%=*}]=${arg#*=}
        ;;
      -*)
        if [[ $bools == *" $arg "* ]]; then
          OPT[$arg]=1
        elif [[ $values == *" $arg "* ]]; then
          (($# >= 2)) || usage_error "option $arg needs a value"
          OPT[$arg]=$2
          shift
        else
          usage_error "unknown option $(shown "$arg")"
        fi
        ;;
      *) POS+=("$arg") ;;
    esac
    shift
  done
}
flag() { [[ -n ${OPT[$1]:-} ]]; }
want_args() {
  ((${#POS[@]} == $1)) || usage_error "expected $1 argument(s), got ${#POS[@]}"
}

# ---------------------------------------------------------------- names
# The one rule of tests/fixtures/names.json (also in infra/ and nixos/lib, tested on that table).

NAME_RULE="lowercase letters, digits and '-', starting with a letter, not ending with '-'"
# Slots and hosts: at most 12 characters and not 'states' (nixos/rules/rules.json name.maxLength and
# name.reserved); states and snapshots: 63.
name_max() { if [[ $1 == slot || $1 == host ]]; then echo 12; else echo 63; fi; }
is_name() { # KIND NAME
  [[ $2 =~ ^[a-z][a-z0-9-]*$ && $2 != *- && ${#2} -le $(name_max "$1") ]] || return 1
  [[ ($1 != slot && $1 != host) || $2 != states ]]
}
check_name() { # KIND NAME
  if [[ ($1 == slot || $1 == host) && $2 == states ]]; then
    die "$EX_USAGE" "invalid $1 name 'states': reserved (vm-state keeps the states in $STATES)"
  fi
  is_name "$1" "$2" ||
    die "$EX_USAGE" "invalid $1 name $(shown "$2"): use $NAME_RULE, at most $(name_max "$1") characters"
}
check_state() { check_name state "$1"; }
check_snap() { check_name snapshot "$1"; }
check_slot() { check_name slot "$1"; }
split_snapref() { # STATE@SNAP -> REF_STATE REF_SNAP
  [[ $1 == *@* ]] || die "$EX_USAGE" "expected STATE@SNAPSHOT, got $(shown "$1")"
  REF_STATE=${1%%@*} REF_SNAP=${1#*@}
  check_state "$REF_STATE"
  check_snap "$REF_SNAP"
}

# ---------------------------------------------------------------- configuration

# Set by load_config.
BACKEND='' POOL='' LABEL='' SLOTS=() KEEP_SAFETY=5 KEEP_SAFETY_DAYS=30
# Reads infra.json with one jq call, then binds the backend's functions.
load_config() {
  [[ -r $CONFIG && -f $CONFIG ]] || die "$EX_ERROR" "cannot read deployment data $CONFIG (set VM_STATE_CONFIG)"
  local fields=()
  mapfile -d '' -t fields < <(jq -j 'if .version == 1 then
      [(.storage.backend // ""), (.storage.pool // ""), (.guest.dataLabel // ""),
       (.storage.safetySnapshots.keep // 5), (.storage.safetySnapshots.maxAgeDays // 30),
       (.slots[].name)] | map(tostring | gsub("\u0000"; "?") + "\u0000") | add
    else error("version must be 1") end' "$CONFIG" 2>/dev/null || echo BAD)
  ((${#fields[@]} >= 5)) || die "$EX_ERROR" "$CONFIG is not valid infra.json version 1"
  BACKEND=${VM_STATE_BACKEND:-${fields[0]}} POOL=${fields[1]} LABEL=${fields[2]}
  KEEP_SAFETY=${fields[3]} KEEP_SAFETY_DAYS=${fields[4]}
  SLOTS=("${fields[@]:5}")
  [[ $KEEP_SAFETY =~ ^[1-9][0-9]{0,5}$ ]] ||
    die "$EX_ERROR" "$CONFIG: .storage.safetySnapshots.keep must be a whole number from 1, got $(shown "$KEEP_SAFETY")"
  [[ $KEEP_SAFETY_DAYS =~ ^[1-9][0-9]{0,5}$ ]] ||
    die "$EX_ERROR" "$CONFIG: .storage.safetySnapshots.maxAgeDays must be a whole number from 1, got $(shown "$KEEP_SAFETY_DAYS")"
  local slot
  for slot in "${SLOTS[@]}"; do
    if ! is_name slot "$slot"; then die "$EX_ERROR" "$CONFIG: invalid slot name $(shown "$slot")"; fi
  done
  use_backend "$BACKEND"
}

# The backend's operations, bound once by use_backend; called as `be OPERATION ARGS...`.
#   exists STATE              the state exists
#   list                      state names, one a line
#   snap_exists STATE SNAP    the snapshot exists
#   snaps STATE               "SNAP<TAB>EPOCH" lines, oldest first
#   snap_held STATE SNAP      something (a zfs clone) depends on the snapshot
#   create DST SIZE_GIB       new empty state
#   clone SRC DST INDEPENDENT new state from a state (INDEPENDENT: 1 = share no blocks)
#   restore STATE SNAP DST INDEPENDENT
#   snapshot STATE SNAP
#   delete STATE              the state and its snapshots (hidden while something depends on them)
#   delete_snapshot STATE SNAP
#   adopt FILE STATE          turn an image file into a new state (FILE is gone afterwards)
#   leftovers                 remove what a killed run left (under the lock)
#   gc                        destroy hidden data nothing depends on any more (under the lock)
#   hidden                    JSON array of hidden data and what holds it (list --all)
#   prepare                   checks before a change (e.g. reflink support)
#   live                      how a snapshot of a running slot is made consistent: pause | atomic
declare -A BE=()
BE_OPS=(exists list snap_exists snaps snap_held create clone restore snapshot delete delete_snapshot
  adopt leftovers gc hidden prepare live)
use_backend() {
  case $1 in
    files | xfs | zfs) ;;
    *) die "$EX_ERROR" "unknown backend $(shown "$1") (VM_STATE_BACKEND or .storage.backend): use zfs, xfs or files" ;;
  esac
  if [[ $1 == zfs && -z $POOL ]]; then
    die "$EX_ERROR" "$CONFIG: .storage.pool is empty but the backend is zfs"
  fi
  local op impl
  for op in "${BE_OPS[@]}"; do
    impl=$1_$op
    # xfs is the files backend with reflink copies: it defines only what differs.
    if [[ $1 == xfs ]] && ! declare -F "$impl" >/dev/null; then impl=files_$op; fi
    BE[$op]=$impl
  done
}
be() {
  local op=$1
  shift
  "${BE[$op]}" "$@"
}

is_slot() {
  local s
  for s in "${SLOTS[@]}"; do
    if [[ $s == "$1" ]]; then return 0; fi
  done
  return 1
}
need_slot() {
  check_slot "$1"
  is_slot "$1" || die "$EX_CONFLICT" "unknown slot $(shown "$1"): slots in $CONFIG are ${SLOTS[*]:-none}"
}

# ---------------------------------------------------------------- exit and signals

# Removed by the EXIT trap if a command dies half-way.
CLEANUP_PATH='' CLEANUP_DATASET='' CLEANUP_SNAPSHOT=''
# Temporary files, removed by the EXIT trap in any case.
CLEANUP_FILES=()
# A command (and arguments) the EXIT trap runs, in a subshell, if the command fails.
ON_FAILURE=()
# Slots a command stopped and that are to run again (with the disk they had) if it fails.
ROLLBACK_SLOTS=()
# A slot a command paused, resumed by the EXIT trap if it fails.
PAUSED_SLOT=''
on_exit() {
  local rc=$?
  trap - EXIT
  if ((rc != 0 && ${#ON_FAILURE[@]})); then
    (
      trap 'rm -f -- "${CLEANUP_FILES[@]}"' EXIT
      "${ON_FAILURE[@]}"
    ) || true
  fi
  if ((${#CLEANUP_FILES[@]})); then rm -f -- "${CLEANUP_FILES[@]}"; fi
  if [[ -n $CLEANUP_PATH ]]; then rm -rf -- "$CLEANUP_PATH"; fi
  if [[ -n $CLEANUP_DATASET ]]; then "$ZFS" destroy -r "$CLEANUP_DATASET" >/dev/null 2>&1 || true; fi
  if [[ -n $CLEANUP_SNAPSHOT ]]; then "$ZFS" destroy "$CLEANUP_SNAPSHOT" >/dev/null 2>&1 || true; fi
  if [[ -n $PAUSED_SLOT ]]; then
    if "$CH_REMOTE" --api-socket "$(api_socket "$PAUSED_SLOT")" resume >/dev/null 2>&1 9>&-; then
      log "resumed $PAUSED_SLOT after the failure"
      (journal_edit resumed "$PAUSED_SLOT") || true
    else
      log "could not resume $PAUSED_SLOT; the next vm-state change retries (or: $CH_REMOTE --api-socket $(api_socket "$PAUSED_SLOT") resume)"
    fi
  fi
  if ((${#ROLLBACK_SLOTS[@]})); then
    local slot started=() failed=()
    for slot in "${ROLLBACK_SLOTS[@]}"; do
      log "starting $slot again on the disk it had, after the failure"
      if "$SYSTEMCTL" start "$(unit "$slot")" 9>&-; then started+=("$slot"); else failed+=("$slot"); fi
    done
    # "started" first: when every slot runs again the journal is empty and only removed, which
    # works even on the full disk that may have caused the failure. Each in a subshell: a journal
    # that cannot be written must not cut the rest short (the next command finishes it).
    (journal_edit started "${started[@]}") || true
    (journal_edit unlink "${failed[@]}") || true
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP


# ---------------------------------------------------------------- the root and the lock

# vm-state runs as root: it never writes through a link out of its root. Directories it walks,
# the journal and the lock must be what they seem, not symbolic links.
not_a_link() { # PATH
  if [[ -L $1 ]]; then
    die "$EX_CONFLICT" "refusing to run: $1 is a symbolic link (to $(readlink -- "$1")); vm-state never follows links out of $ROOT: remove the link or put the real directory or file there"
  fi
}
check_layout() {
  local p slot
  for p in "$STATES" "$JOURNAL" "$LEGACY_JOURNAL" "$STATES"/* "$STATES"/*/.snapshots "$STATES"/*/data.img; do
    not_a_link "$p"
  done
  for slot in "${SLOTS[@]}"; do not_a_link "$ROOT/$slot"; done
}

# Every mutation runs under this lock; once it is held, leftovers of a killed run are removed and
# whatever an interrupted command left stopped or paused is finished (recover).
take_lock() {
  local err
  local lockdir=.
  if [[ $LOCK == */* ]]; then lockdir=${LOCK%/*}/; fi
  if [[ ! -d $ROOT || ! -d $lockdir ]] && ! err=$(mkdir -p -- "$ROOT" "$lockdir" 2>&1); then
    die "$EX_ERROR" "cannot create $ROOT: $(last_line "$err")"
  fi
  not_a_link "$LOCK"
  if [[ -d $LOCK ]]; then
    die "$EX_ERROR" "the lock $LOCK is a directory; remove it (vm-state creates the lock file itself)"
  fi
  if ! { exec 9>>"$LOCK"; } 2>/dev/null; then
    err=$({ : >>"$LOCK"; } 2>&1) || true
    die "$EX_ERROR" "cannot open the lock $LOCK: ${err##*: }"
  fi
  local wait=(-w "$LOCK_WAIT")
  if [[ $LOCK_WAIT == 0 ]]; then wait=(-n); fi
  flock "${wait[@]}" 9 ||
    die "$EX_BUSY" "busy: another vm-state command holds $LOCK (waited ${LOCK_WAIT}s); try again later"
  check_layout
  if [[ ! -d $STATES ]] && ! err=$(mkdir -p -- "$STATES" 2>&1); then
    die "$EX_ERROR" "cannot create $STATES: $(last_line "$err")"
  fi
  be leftovers
  be prepare
  recover
}

# ---------------------------------------------------------------- the journal
# $JOURNAL records what a change has stopped or paused and which links it is making:
#   {"stopped": [SLOT...], "links": {SLOT: STATE}, "paused": [SLOT...]}
# It is written before anything is stopped and only ever merged (never replaced), and every
# change first finishes what it lists (recover), so a killed command's slots run again.

EMPTY_JOURNAL='{"stopped":[],"links":{},"paused":[]}'
# journal_edit OP ARGS...: one change, merged into the journal (one jq call):
#   stop SLOT...          the slots are stopped (to start again)
#   link SLOT STATE...    the links being made
#   change SLOT STATE...  both at once: the slots stopped and relinked (one write, so a full disk
#                         cannot leave the one without the other)
#   pause SLOT...         the VMs are paused (to resume)
#   started SLOT...       started again: neither stopped nor linking any more
#   unlink SLOT...        the links will not be made (a rolled-back change)
#   resumed SLOT...       resumed
journal_edit() {
  local op=$1 new tmp src=(-n)
  shift
  (($#)) || return 0
  if [[ -f $JOURNAL ]]; then src=("$JOURNAL"); fi
  new=$(jq -c --arg op "$op" '$ARGS.positional as $a
    | def without($keys): with_entries(select(.key as $k | $keys | any(. == $k) | not));
      (. // {}) | {stopped: (.stopped // []), links: (.links // {}), paused: (.paused // [])}
    | if $op == "stop" then .stopped = (.stopped + $a | unique)
      elif $op == "link" or $op == "change" then
        .links += ([range(0; $a | length; 2) as $i | {key: $a[$i], value: $a[$i + 1]}] | from_entries)
        | if $op == "change" then .stopped = (.stopped + [range(0; $a | length; 2) as $i | $a[$i]] | unique) else . end
      elif $op == "pause" then .paused = (.paused + $a | unique)
      elif $op == "started" then .stopped -= $a | .links |= without($a)
      elif $op == "unlink" then .links |= without($a)
      elif $op == "resumed" then .paused -= $a
      else error("unknown journal operation " + $op) end' "${src[@]}" --args "$@") ||
    die "$EX_ERROR" "cannot update the journal $JOURNAL; fix or remove it (it lists slots an interrupted command stopped or paused)"
  if [[ $new == "$EMPTY_JOURNAL" ]]; then
    rm -f -- "$JOURNAL"
    return 0
  fi
  # mktemp makes a new file (never follows a link planted under a fixed name); mv -T replaces
  # the journal itself, not what it might point at.
  # A full disk fails here, before the change stops anything: say so, leave no temporary file.
  local err
  if ! tmp=$(mktemp -- "$ROOT/.vm-state-journal.XXXXXX" 2>&1); then
    die "$EX_ERROR" "cannot write the journal $JOURNAL: $(last_line "$tmp")"
  fi
  if ! err=$({ printf '%s\n' "$new" >"$tmp" && mv -T -- "$tmp" "$JOURNAL"; } 2>&1); then
    rm -f -- "$tmp"
    die "$EX_ERROR" "cannot write the journal $JOURNAL: $(last_line "$err")"
  fi
}
# journal_list stopped|paused|links: the entries, NUL-terminated (links: SLOT, STATE pairs).
journal_list() {
  [[ -f $JOURNAL ]] || return 0
  jq -j --arg what "$1" 'if $what == "links" then (.links // {} | to_entries[] | .key, .value)
    else (.[$what] // [])[] end | tostring | gsub("\u0000"; "?") + "\u0000"' "$JOURNAL" ||
    die "$EX_ERROR" "cannot read the journal $JOURNAL; fix or remove it (it lists slots an interrupted command stopped or paused)"
}

# Finishes what an interrupted command left: resumes paused slots, completes the links it was
# making and starts what it stopped.
recover() {
  if [[ -f $LEGACY_JOURNAL ]]; then
    local legacy=()
    mapfile -t legacy < <(jq -r '.stopped[]? | strings' "$LEGACY_JOURNAL" 2>/dev/null || true)
    journal_edit stop "${legacy[@]}"
    rm -f -- "$LEGACY_JOURNAL"
  fi
  [[ -f $JOURNAL ]] || return 0
  local slot paused=() stopped=() links=()
  mapfile -d '' -t paused < <(journal_list paused)
  for slot in "${paused[@]}"; do
    log "resuming $slot, left paused by an interrupted snapshot"
    if ! is_slot "$slot" || ! attempt_quiet "$CH_REMOTE" --api-socket "$(api_socket "$slot")" resume; then
      log "warning: could not resume $(shown "$slot") (not running any more?); forgetting it"
    fi
    journal_edit resumed "$slot"
  done
  mapfile -d '' -t stopped < <(journal_list stopped)
  mapfile -d '' -t links < <(journal_list links)
  local forget=() i
  for slot in "${stopped[@]}"; do
    if ! is_slot "$slot"; then forget+=("$slot"); fi
  done
  for ((i = 0; i < ${#links[@]}; i += 2)); do
    if ! is_slot "${links[i]}"; then forget+=("${links[i]}"); fi
  done
  if ((${#forget[@]})); then
    log "warning: the journal lists $(printf '%s ' "${forget[@]}")which are no slots in $CONFIG any more; forgetting them"
    journal_edit started "${forget[@]}"
    mapfile -d '' -t stopped < <(journal_list stopped)
    mapfile -d '' -t links < <(journal_list links)
  fi
  ((${#stopped[@]} + ${#links[@]})) || return 0
  log "an interrupted vm-state command left ${stopped[*]:-no slot} stopped: finishing it first"
  RECOVERY_NOTE="could not finish the change that an interrupted vm-state command recorded in $JOURNAL; fix the cause and run any vm-state change again"
  switch_slots recover "${links[@]}"
  RECOVERY_NOTE=''
}
attempt_quiet() { "$@" >/dev/null 2>&1 9>&-; }

# ---------------------------------------------------------------- systemd and the hypervisor

unit() { printf 'microvm@%s.service' "$1"; }
is_running() { "$SYSTEMCTL" is-active --quiet "$(unit "$1")" 9>&-; }
stop_slot() {
  log "stopping $(unit "$1")"
  "$SYSTEMCTL" stop "$(unit "$1")" 9>&- || die "$EX_ERROR" "could not stop $(unit "$1")"
}
start_slot() {
  log "starting $(unit "$1")"
  "$SYSTEMCTL" start "$(unit "$1")" 9>&- || die "$EX_ERROR" "could not start $(unit "$1") (see: journalctl -u $(unit "$1"))"
}
# Polls each slot until active; fails naming every slot that did not come up in time.
wait_running() {
  local end=$((SECONDS + START_TIMEOUT)) slot failed=()
  for slot in "$@"; do
    until is_running "$slot"; do
      if ((SECONDS >= end)); then
        failed+=("$slot")
        break
      fi
      sleep 1
    done
  done
  ((${#failed[@]} == 0)) ||
    die "$EX_ERROR" "did not come up within ${START_TIMEOUT}s: ${failed[*]} (see: journalctl -u $(unit "${failed[0]}"))"
}

# Cloud Hypervisor's API socket: microvm.nix's default `microvm.socket` is "<hostName>.sock",
# relative to the unit's WorkingDirectory <stateDir>/<name>; our guests' hostName is the slot.
api_socket() { printf '%s/%s/%s.sock' "$ROOT" "$1" "$1"; }
pause_slot() {
  journal_edit pause "$1"
  PAUSED_SLOT=$1
  local err
  if ! err=$("$CH_REMOTE" --api-socket "$(api_socket "$1")" pause 2>&1 9>&-); then
    PAUSED_SLOT=''
    journal_edit resumed "$1"
    die "$EX_ERROR" "could not pause $1 through $(api_socket "$1"): $(last_line "${err:-failed}"); no snapshot taken (--stop takes one with the VM stopped)"
  fi
}
resume_slot() {
  local err
  if ! err=$("$CH_REMOTE" --api-socket "$(api_socket "$1")" resume 2>&1 9>&-); then
    die "$EX_ERROR" "could not resume $1: $(last_line "${err:-failed}"); it is still paused (the next vm-state change retries, or: $CH_REMOTE --api-socket $(api_socket "$1") resume)"
  fi
  PAUSED_SLOT=''
  journal_edit resumed "$1"
}

# ---------------------------------------------------------------- slots and states

slot_link() { printf '%s/%s/data.img' "$ROOT" "$1"; }
state_img() { printf '%s/%s/data.img' "$STATES" "$1"; }

# The state a slot's data.img points at, or nothing.
slot_state() {
  local link target name
  link=$(slot_link "$1")
  [[ -L $link ]] || return 0
  target=$(readlink -- "$link")
  name=${target#"$STATES/"}
  name=${name%/data.img}
  if [[ $target == "$STATES/$name/data.img" && $name != */* ]]; then
    printf '%s' "$name"
  else
    log "warning: $link points at $target, not at a state"
  fi
}
# The slot a state is attached to, or nothing.
state_slot() {
  local slot
  for slot in "${SLOTS[@]}"; do
    if [[ $(slot_state "$slot") == "$1" ]]; then
      printf '%s' "$slot"
      return 0
    fi
  done
}
# Refuses (before anything is stopped) a slot whose disk vm-state must not replace.
check_slot_disk() { # SLOT
  local link
  link=$(slot_link "$1")
  not_a_link "$ROOT/$1"
  if [[ -L $link || ! -e $link ]]; then return 0; fi
  if [[ -d $link ]]; then
    die "$EX_CONFLICT" "$link is a directory, not a link to a state; move it away first (nothing was stopped)"
  fi
  die "$EX_CONFLICT" "$link is a disk image of its own, not a link to a state; vm-state never replaces it: turn it into a state with '$PROG adopt $1 NAME', or move it away (nothing was stopped)"
}

need_state() {
  check_state "$1"
  be exists "$1" || die "$EX_CONFLICT" "unknown state $(shown "$1") (see: $PROG list)"
}
# A name a new state may take: no state, and nothing else in the way of its directory.
need_new_state() { # NAME -> 1 if it exists and --if-missing allows that
  if be exists "$1"; then
    if flag --if-missing; then
      log "state $1 exists; nothing to do"
      return 1
    fi
    die "$EX_CONFLICT" "state $(shown "$1") already exists"
  fi
  need_not_arriving "$1"
  local dir=$STATES/$1 content=()
  if [[ -L $dir || (-e $dir && ! -d $dir) ]]; then
    die "$EX_CONFLICT" "$dir exists and is not a state; move it away first"
  fi
  if [[ -d $dir ]]; then
    content=("$dir"/* "$dir"/.[!.]*)
    if ((${#content[@]})); then
      die "$EX_CONFLICT" "$dir exists but is not a state (no data.img; it holds ${content[*]##*/}); move it away first, e.g. mv $dir $ROOT/$1.orphan"
    fi
  fi
}

# free_name BASE TAKEN...: the first of BASE, BASE-2, BASE-3... for which `TAKEN... NAME` fails.
free_name() {
  local base=$1 name=$1 n=1
  shift
  while "$@" "$name"; do
    n=$((n + 1))
    name=$base-$n
  done
  printf '%s' "$name"
}
# Names a safety snapshot that does not exist yet: pre-WHY-YYYYMMDD-HHMMSS[-N].
safety_snapshot() { # STATE WHY
  local name
  name=$(free_name "pre-$2-$(date -u +%Y%m%d-%H%M%S)" be snap_exists "$1")
  log "safety snapshot $1@$name"
  be snapshot "$1" "$name"
}
SAFETY_RE='^pre-(assign|apply|adopt)-[0-9]{8}-[0-9]{6}(-[0-9]+)?$'
# Keeps each state's newest KEEP_SAFETY safety snapshots, and of those only the ones younger than
# KEEP_SAFETY_DAYS, but always the newest one; never one that something depends on.
prune_safety() {
  local state lines=() line name epoch n i cutoff
  cutoff=$(($(date +%s) - KEEP_SAFETY_DAYS * 86400))
  for state in $(be list); do
    mapfile -t lines < <(be snaps "$state" | grep -E "${SAFETY_RE%$}"$'\t' || true)
    n=${#lines[@]}
    for ((i = 0; i < n - 1; i++)); do
      line=${lines[i]}
      name=${line%%$'\t'*} epoch=${line#*$'\t'}
      if ((n - i <= KEEP_SAFETY && epoch >= cutoff)); then continue; fi
      if be snap_held "$state" "$name"; then continue; fi
      log "pruning safety snapshot $state@$name (keeping the newest $KEEP_SAFETY, at most $KEEP_SAFETY_DAYS days old)"
      be delete_snapshot "$state" "$name"
    done
  done
}

# Makes the slots in the map (JSON object slot -> state) run those states. Only slots whose
# state differs are touched; each is stopped once, its old state gets a safety snapshot, all
# their links are removed before any is re-created (so no state is ever linked from two slots,
# even in a swap or after an interruption), then they are started and must come up.
# The journal lists the slots stopped and the links to make, so any later change finishes an
# interrupted one; a failure before the links change starts the stopped slots again at once.
switch_slots() { # WHY SLOT STATE [SLOT STATE...]
  local why=$1 slot state
  shift
  local -A want=() current=() owner=()
  while (($# >= 2)); do
    check_slot "$1"
    check_state "$2"
    want[$1]=$2
    shift 2
  done
  for slot in "${!want[@]}"; do need_slot "$slot"; done
  for slot in "${SLOTS[@]}"; do
    [[ -n ${want[$slot]+set} ]] || continue
    state=${want[$slot]}
    need_state "$state"
    need_not_leaving "$state"
    [[ -z ${owner[$state]:-} ]] ||
      die "$EX_CONFLICT" "state $state is requested for both ${owner[$state]} and $slot; a state runs on one slot at most"
    owner[$state]=$slot
  done
  for slot in "${SLOTS[@]}"; do current[$slot]=$(slot_state "$slot"); done
  for slot in "${SLOTS[@]}"; do
    state=${current[$slot]}
    if [[ -z ${want[$slot]+set} && -n $state && -n ${owner[$state]:-} ]]; then
      die "$EX_CONFLICT" "state $state is attached to $slot; it cannot also run on ${owner[$state]} (assign $slot another state in the same request)"
    fi
  done

  local changed=() pending=() to_start=() was_running=() links=()
  for slot in "${SLOTS[@]}"; do
    if [[ -n ${want[$slot]+set} && ${current[$slot]} != "${want[$slot]}" ]]; then changed+=("$slot"); fi
  done
  mapfile -d '' -t pending < <(journal_list stopped)
  for slot in "${SLOTS[@]}"; do
    if [[ " ${changed[*]} ${pending[*]} " == *" $slot "* ]]; then to_start+=("$slot"); fi
  done
  if ((${#to_start[@]} == 0)); then
    log "nothing to change"
    return 0
  fi
  for slot in "${changed[@]}"; do check_slot_disk "$slot"; done

  for slot in "${changed[@]}"; do
    links+=("$slot" "${want[$slot]}")
    if is_running "$slot"; then was_running+=("$slot"); fi
  done
  journal_edit change "${links[@]}"
  # Until the links change, a failure starts again what was running, on the disk it had.
  ROLLBACK_SLOTS=("${was_running[@]}")
  for slot in "${changed[@]}"; do stop_slot "$slot"; done
  phase stopped
  for slot in "${changed[@]}"; do
    if [[ -n ${current[$slot]} ]] && be exists "${current[$slot]}"; then
      safety_snapshot "${current[$slot]}" "$why"
    fi
  done
  phase snapshotted
  ROLLBACK_SLOTS=()
  local link
  for slot in "${changed[@]}"; do
    link=$(slot_link "$slot")
    if [[ -L $link ]]; then rm -f -- "$link"; fi
  done
  phase unlinked
  for slot in "${changed[@]}"; do
    link=$(slot_link "$slot")
    attempt "creating $ROOT/$slot" mkdir -p -- "${link%/*}"
    rm -f -- "$link.tmp"
    attempt "linking $slot to ${want[$slot]}" ln -sn -- "$(state_img "${want[$slot]}")" "$link.tmp"
    attempt "linking $slot to ${want[$slot]}" mv -T -- "$link.tmp" "$link"
    log "$slot -> ${want[$slot]}"
  done
  phase linked
  for slot in "${to_start[@]}"; do start_slot "$slot"; done
  journal_edit started "${to_start[@]}"
  wait_running "${to_start[@]}"
  prune_safety
}

# ---------------------------------------------------------------- output

# query FILTER [STATE...]: runs the jq FILTER (raw output) once over the records of the named
# states (all if none) as $states, and with SLOTS_TSV set (slots_tsv) over $slots; also
# $backend, $hidden (HIDDEN_JSON) and the helpers of JQ_TABLES. One jq call per command.
HIDDEN_JSON='[]' SLOTS_TSV=''
query() {
  local filter=$1 names=("${@:2}") state slot img size alloc args=()
  local -A slot_of=()
  if (($# == 1)); then mapfile -t names < <(be list); fi
  for slot in "${SLOTS[@]}"; do
    state=$(slot_state "$slot")
    if [[ -n $state ]]; then slot_of[$state]=$slot; fi
  done
  for state in "${names[@]}"; do
    img=$(state_img "$state") size=null alloc=null
    if [[ -f $img ]]; then
      read -r size alloc < <(stat -c '%s %b*%B' -- "$img")
      alloc=$((alloc))
    fi
    args+=("$state" "${slot_of[$state]:-}" "$size" "$alloc" "$(be snaps "$state")")
  done
  jq -rn --arg backend "$BACKEND" --arg slots "$SLOTS_TSV" --argjson hidden "$HIDDEN_JSON" "$JQ_TABLES"'
    ($ARGS.positional | [range(0; length; 5) as $i | .[$i:$i + 5] | {
      name: .[0],
      slot: (if .[1] == "" then null else .[1] end),
      sizeBytes: (.[2] | fromjson),
      allocatedBytes: (.[3] | fromjson),
      snapshots: [.[4] | splits("\n") | select(. != "") | split("\t")
                  | {name: .[0], created: (.[1] | tonumber | todate)}]
    }]) as $states
    | ([$slots | splits("\n") | select(. != "") | split("\t") | {
      name: .[0], state: (if .[1] == "" then null else .[1] end), running: (.[2] == "true"),
      unit: "microvm@\(.[0]).service",
      system: (if .[3] == "" then null else {
        declared: .[3], booted: (if .[5] == "" then null else .[5] end),
        upToDate: (if .[5] == "" then null else .[4] == .[6] end)} end)}]) as $slots
    | '"$filter" --args "${args[@]}"
}
# Sets SLOTS_TSV: "SLOT<TAB>STATE<TAB>RUNNING<TAB>SYSTEM..." lines (slot_system), for $slots.
slots_tsv() {
  local slot link running
  SLOTS_TSV=''
  for slot in "${SLOTS[@]}"; do
    link=$(slot_link "$slot")
    if [[ -e $link && ! -L $link ]]; then
      log "warning: $link is not a link to a state (adopt it: $PROG adopt $slot NAME)"
    fi
    running=false
    if is_running "$slot"; then running=true; fi
    SLOTS_TSV+=$slot$'\t'$(slot_state "$slot")$'\t'$running$'\t'$(slot_system "$slot")$'\n'
  done
}
# A slot's guest system, read from microvm.nix's links in its directory <root>/<slot> (the
# microvm.nix state dir is vm-state's root), never evaluated: `current` is the runner the host
# declares (install-microvm-<slot> relinks it on every switch), `booted` the runner the VM started
# with (microvm-set-booted@<slot> links it before the start and removes it at the stop); each
# runner's share/microvm/system is its guest's NixOS system. `microvm -l` compares the same links.
# Prints "DECLARED_SYSTEM<TAB>DECLARED_RUNNER<TAB>BOOTED_SYSTEM<TAB>BOOTED_RUNNER" (empty if absent).
slot_system() {
  local dir=$ROOT/$1 kind runner system out=''
  for kind in current booted; do
    runner='' system=''
    if [[ -L $dir/$kind ]]; then
      runner=$(readlink -- "$dir/$kind")
      if [[ -L $dir/$kind/share/microvm/system ]]; then system=$(readlink -- "$dir/$kind/share/microvm/system"); fi
    fi
    out+=${system//[$'\t\n']/?}$'\t'${runner//[$'\t\n']/?}$'\t'
  done
  printf '%s' "${out%$'\t'}"
}
# Read-only commands only warn about an interrupted change: the next change finishes it.
warn_journal() {
  if [[ -f $JOURNAL || -f $LEGACY_JOURNAL ]]; then
    log "warning: an interrupted vm-state command left slots stopped or paused (see $JOURNAL); the next vm-state change finishes it"
  fi
}

# Colour only for a terminal, and never with NO_COLOR set.
use_colour() { [[ -t 1 && -z ${NO_COLOR:-} ]]; }

# Prints TSV rows (first row: header) as aligned columns.
render_table() {
  local rows=() widths=() line cells i
  while IFS= read -r line; do
    rows+=("$line")
    IFS=$'\t' read -r -a cells <<<"$line"
    for i in "${!cells[@]}"; do
      if ((${#cells[i]} > ${widths[i]:-0})); then widths[i]=${#cells[i]}; fi
    done
  done
  local bold='' dim='' green='' reset=''
  if use_colour; then bold=$'\e[1m' dim=$'\e[2m' green=$'\e[32m' reset=$'\e[0m'; fi
  local n=0 out pad
  for line in "${rows[@]}"; do
    IFS=$'\t' read -r -a cells <<<"$line"
    out=''
    for i in "${!cells[@]}"; do
      pad=${cells[i]}
      if ((i + 1 < ${#cells[@]})); then printf -v pad '%-*s' "${widths[i]}" "${cells[i]}"; fi
      case ${cells[i]} in
        running) pad=$green$pad$reset ;;
        stopped | -) pad=$dim$pad$reset ;;
      esac
      out+=$pad'  '
    done
    out=${out%  }
    if ((n++ == 0)); then out=$bold$out$reset; fi
    printf '%s\n' "$out"
  done
}

# jq helpers for the tables: size (bytes -> "1.5G") and the rows (TSV, header first) of each
# table; render_table aligns them. Tables are separated by an empty line.
JQ_TABLES='def size: if . == null then "-"
    elif . >= 1073741824 then "\(. * 10 / 1073741824 | floor / 10)G"
    elif . >= 1048576 then "\(. * 10 / 1048576 | floor / 10)M"
    elif . >= 1024 then "\(. / 1024 | floor)K" else "\(.)B" end;
  def states_rows: (["STATE", "SLOT", "SIZE", "ALLOCATED", "SNAPSHOTS", "LATEST"] | @tsv),
    (.[] | [.name, (.slot // "-"), (.sizeBytes | size), (.allocatedBytes | size),
            (.snapshots | length | tostring), (.snapshots[-1].name // "-")] | @tsv);
  def generation: split("/")[-1] | split("-")[0] | .[0:7];
  def system_cell: if . == null then "-"
    elif .booted == null then "\(.declared | generation) (not running)"
    elif .upToDate then "\(.declared | generation) (current)"
    elif (.booted | generation) == (.declared | generation) then "\(.booted | generation) (outdated: restart to apply its new VM settings)"
    else "\(.booted | generation) (outdated: restart to apply \(.declared | generation))" end;
  def slots_rows: (["SLOT", "STATE", "RUNNING", "SYSTEM"] | @tsv),
    (.[] | [.name, (.state // "-"), (if .running then "running" else "stopped" end),
            (.system | system_cell)] | @tsv);
  def hidden_rows: (["HIDDEN", "WAS", "HELD BY"] | @tsv),
    (.[] | [.name, .was, (.heldBy | join(","))] | @tsv);
  def snapshots_rows: (["SNAPSHOT", "CREATED"] | @tsv), (.[] | [.name, .created] | @tsv);'
# Renders the tables that query printed: each block of TSV lines (up to an empty line) aligned.
render_tables() {
  local line block=() first=1
  while IFS= read -r line || ((${#block[@]})); do
    if [[ -n $line ]]; then
      block+=("$line")
      continue
    fi
    if ((!first)); then printf '\n'; fi
    first=0
    printf '%s\n' "${block[@]}" | render_table
    block=()
  done
}
