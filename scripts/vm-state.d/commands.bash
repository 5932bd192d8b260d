# shellcheck shell=bash disable=SC2034,SC2153
# (globals are shared between the parts of vm-state: assigned in one, read in another)
# vm-state: one cmd_<verb> per subcommand, and the dispatch (vm_state_main).

cmd_help() {
  cat <<EOF
Usage: $PROG COMMAND [ARGS]

Manages microVM states (disk images) and which slot runs which state.

Read-only (no root needed):
  status [--json]                     slots (state, running) and states
  list [--json] [--all]               states with size, slot and snapshots;
                                      --all also hidden data kept for clones (zfs)
  snapshots STATE [--json]            snapshots of one state
  help                                this text

Changes (hold the lock $LOCK):
  create NAME [--size-gib N] [--if-missing]
                                      new empty state (ext4, label from infra.json), default 64 GiB
  clone SRC DST [--independent] [--if-missing]
                                      new state from SRC (zfs: an instant clone;
                                      --independent: a full copy sharing no blocks)
  restore STATE@SNAP DST [--independent] [--if-missing]
                                      new state from a snapshot
  snapshot STATE SNAP [--stop] [--if-missing] [--json]
                                      snapshot; says its consistency: a running slot is
                                      paused (files, xfs) or snapshotted atomically (zfs):
                                      crash-consistent; --stop stops and restarts the slot:
                                      application-consistent
  delete NAME --yes [--if-exists]     delete a state and its snapshots (refused while a slot
                                      uses it; zfs: hidden while clones depend on it)
  delete-snapshot STATE@SNAP --yes [--if-exists]
  assign SLOT STATE                   run STATE on SLOT (stop, safety snapshot, relink, start)
  migrate STATE SLOT                  same as assign SLOT STATE
  apply FILE|-                        make slots match {"slots": {"SLOT": "STATE", ...}};
                                      only differing slots change, swaps allowed
  adopt SLOT STATE                    turn the disk image file SLOT/data.img (not a link to a
                                      state) into the new state STATE, and run it on SLOT
  gc [--fleet-moved [STATE...]]       destroy hidden data nothing depends on (zfs; also run
                                      after every delete); --fleet-moved: also the copies
                                      kept on this host of states moved to another host
                                      (of the STATEs only, if given)

Slots:
  logs SLOT [-f] [--lines N|all]      the slot's journal (microvm@SLOT), which holds its
                                      serial console too; -f follows it (default: 100 lines)

Fleet (several hosts; infra.json .fleet; see docs/vm-state.md "Fleet"):
  fleet-pull STATE --from HOST [--slot SLOT] [--json]
                                      on the target: move STATE here from HOST: a copy while
                                      it runs there, then HOST stops it, the catch-up, the
                                      state created here last, SLOT started on it; HOST keeps
                                      its copy hidden (gc --fleet-moved); resumes when re-run
  fleet-pull STATE --from-any [--slot SLOT] [--json]
                                      the same from whichever other host holds STATE (the
                                      deploy runs this); nothing when it is here or nowhere
  fleet-pull STATE --from HOST --abort
                                      roll an unfinished move back: nothing stays here, the
                                      state runs on HOST again
  fleet-cancel STATE                  on the source: undo an unfinished move out of this host
  replicate STATE --to HOST [--keep-hourly N] [--keep-daily N] [--keep-weekly N]
            [--keep-monthly N] [--json]
                                      on the source: a warm copy on HOST (zfs: incremental),
                                      kept hidden there, pruned per keep (default: .fleet.replicas)
  replica-promote STATE [--as NAME]   on the replica's host: the replica becomes a state
  fleet-serve                         the forced command of the fleet's SSH key (not by hand)

Names: $NAME_RULE;
states and snapshots at most 63 characters, slots at most 12 and not 'states'. Options
may come before or after the arguments; '--' ends the options.

Exit codes:
  0  success (also: nothing to do)
  1  error (a command failed, a slot did not come up, a full or read-only disk)
  2  usage (unknown command or option, bad name, bad input, missing --yes)
  3  busy (another vm-state command holds the lock)
  4  not found or conflict (unknown slot/state/snapshot, already exists,
     state attached to another slot, delete of an attached state, something on
     disk vm-state will not touch: a slot's own disk image, a symbolic link;
     fleet: no .fleet, unknown host, a state moving to another host, a
     replica from another host, no common snapshot)
  Fleet commands also exit 3 while the same transfer runs (a second move of a
  state, a second replication), pass on the other host's 3 and 4, and exit 1
  when it cannot be reached. fleet-serve refuses what it does not allow with 2.

Environment:
  VM_STATE_CONFIG         infra.json (default /etc/microvm-infra/infra.json)
  VM_STATE_ROOT           holds states/ and one directory per slot (default /var/lib/microvms)
  VM_STATE_BACKEND        zfs, xfs or files (default: .storage.backend of infra.json)
  VM_STATE_SYSTEMCTL      command run as systemctl (default systemctl)
  VM_STATE_ZFS            command run as zfs (default zfs)
  VM_STATE_CH_REMOTE      command run as ch-remote (default ch-remote)
  VM_STATE_LOCK           lock file (default \$VM_STATE_ROOT/.vm-state.lock)
  VM_STATE_LOCK_WAIT      seconds to wait for the lock before exit 3 (default 30)
  VM_STATE_START_TIMEOUT  seconds a started slot has to become active (default 60)
  VM_STATE_JOURNALCTL     command run as journalctl (default journalctl)
  VM_STATE_FLEET_KNOWN_HOSTS  the other hosts' SSH host keys (default /etc/microvm-infra/fleet/known_hosts)
  VM_STATE_FLEET_SSH_CONFIG   ssh_config for fleet connections (default /etc/microvm-infra/fleet/ssh_config)
EOF
}

# ---------------------------------------------------------------- read-only commands

# shellcheck disable=SC2016 # jq programs, single-quoted on purpose
cmd_status() {
  USAGE_LINE='status [--json]'
  parse_args "--json" "" "$@"
  want_args 0
  load_config
  warn_journal
  slots_tsv
  if flag --json; then
    query '{backend: $backend, slots: $slots, states: $states}'
  else
    query '($slots | slots_rows), "", ($states | states_rows), ""' | render_tables
  fi
}

# shellcheck disable=SC2016 # jq programs, single-quoted on purpose
cmd_list() {
  USAGE_LINE='list [--json] [--all]'
  parse_args "--json --all" "" "$@"
  want_args 0
  load_config
  if flag --all; then
    HIDDEN_JSON=$(jq -cn --argjson backend "$(be hidden)" --argjson fleet "$(fleet_hidden)" '$backend + $fleet')
  fi
  if flag --json && flag --all; then
    query '{backend: $backend, states: $states, hidden: $hidden}'
  elif flag --json; then
    query '{backend: $backend, states: $states}'
  elif flag --all; then
    query '($states | states_rows), "", ($hidden | hidden_rows), ""' | render_tables
  else
    query '($states | states_rows), ""' | render_tables
  fi
}

# shellcheck disable=SC2016 # jq programs, single-quoted on purpose
cmd_snapshots() {
  USAGE_LINE='snapshots STATE [--json]'
  parse_args "--json" "" "$@"
  want_args 1
  load_config
  need_state "${POS[0]}"
  if flag --json; then
    query '$states[0] | {state: .name, snapshots: .snapshots}' "${POS[0]}"
  else
    query '($states[0].snapshots | snapshots_rows), ""' "${POS[0]}" | render_tables
  fi
}

# The slot's unit journal, which also holds its serial console: microvm.nix runs Cloud Hypervisor
# with `--serial tty --console null` (lib/runners/cloud-hypervisor.nix), so the guest's console is
# the runner's stdout, and systemd writes that to the journal of microvm@<slot>.service.
cmd_logs() {
  USAGE_LINE='logs SLOT [-f] [--lines N]'
  parse_args "-f --follow" "--lines -n" "$@"
  want_args 1
  local slot=${POS[0]} count=${OPT[--lines]:-${OPT[-n]:-100}}
  check_slot "$slot"
  [[ $count =~ ^(0|[1-9][0-9]{0,6}|all)$ ]] ||
    usage_error "invalid --lines $(shown "$count"): use a whole number of lines, or all"
  load_config
  need_slot "$slot"
  command -v "$JOURNALCTL" >/dev/null ||
    die "$EX_ERROR" "cannot run $(shown "$JOURNALCTL") (set VM_STATE_JOURNALCTL)"
  local args=(--unit "$(unit "$slot")" --no-pager --output short-iso)
  if [[ $count != all ]]; then args+=(--lines "$count"); fi
  if flag -f || flag --follow; then
    args+=(--follow)
    if [[ $count == all ]]; then args+=(--no-tail); fi
  fi
  exec "$JOURNALCTL" "${args[@]}"
}

# ---------------------------------------------------------------- changes

cmd_create() {
  USAGE_LINE='create NAME [--size-gib N] [--if-missing]'
  parse_args "--if-missing" "--size-gib" "$@"
  want_args 1
  local name=${POS[0]} size=${OPT[--size-gib]:-64}
  check_state "$name"
  [[ $size =~ ^[1-9][0-9]{0,5}$ ]] ||
    die "$EX_USAGE" "invalid --size-gib $(shown "$size"): use a whole number of GiB from 1 to 999999"
  load_config
  take_lock
  need_new_state "$name" || return 0
  be create "$name" "$size"
  log "created state $name (${size} GiB, label ${LABEL})"
}

cmd_clone() {
  USAGE_LINE='clone SRC DST [--independent] [--if-missing]'
  parse_args "--if-missing --independent" "" "$@"
  want_args 2
  local src=${POS[0]} dst=${POS[1]}
  check_state "$src"
  check_state "$dst"
  load_config
  take_lock
  need_new_state "$dst" || return 0
  need_state "$src"
  local slot
  slot=$(state_slot "$src")
  if [[ -n $slot ]] && is_running "$slot" && [[ $(be live) != atomic ]]; then
    log "note: $src runs on $slot; the copy is crash-consistent at best (stop the slot for a clean one)"
  fi
  be clone "$src" "$dst" "${OPT[--independent]:-0}"
  log "cloned $src to $dst"
}

cmd_restore() {
  USAGE_LINE='restore STATE@SNAP DST [--independent] [--if-missing]'
  parse_args "--if-missing --independent" "" "$@"
  want_args 2
  local REF_STATE REF_SNAP dst=${POS[1]}
  split_snapref "${POS[0]}"
  check_state "$dst"
  load_config
  take_lock
  need_new_state "$dst" || return 0
  need_state "$REF_STATE"
  be snap_exists "$REF_STATE" "$REF_SNAP" ||
    die "$EX_CONFLICT" "unknown snapshot $(shown "$REF_STATE@$REF_SNAP") (see: $PROG snapshots $REF_STATE)"
  be restore "$REF_STATE" "$REF_SNAP" "$dst" "${OPT[--independent]:-0}"
  log "restored $REF_STATE@$REF_SNAP to new state $dst"
}

cmd_snapshot() {
  USAGE_LINE='snapshot STATE SNAP [--stop] [--if-missing] [--json]'
  parse_args "--if-missing --stop --json" "" "$@"
  want_args 2
  local state=${POS[0]} snap=${POS[1]}
  check_state "$state"
  check_snap "$snap"
  load_config
  take_lock
  need_state "$state"
  if be snap_exists "$state" "$snap"; then
    flag --if-missing && {
      log "snapshot $state@$snap exists; nothing to do"
      return 0
    }
    die "$EX_CONFLICT" "snapshot $(shown "$state@$snap") already exists"
  fi
  local slot running='' level how
  slot=$(state_slot "$state")
  if [[ -n $slot ]] && is_running "$slot"; then running=$slot; fi
  if [[ -z $running ]]; then
    be snapshot "$state" "$snap"
    level=consistent how="no slot runs $state"
  elif flag --stop; then
    journal_edit stop "$running"
    ROLLBACK_SLOTS=("$running")
    stop_slot "$running"
    phase stopped
    be snapshot "$state" "$snap"
    ROLLBACK_SLOTS=()
    start_slot "$running"
    journal_edit started "$running"
    wait_running "$running"
    level=application-consistent how="$running was stopped cleanly for it and started again"
  elif [[ $(be live) == atomic ]]; then
    be snapshot "$state" "$snap"
    level=crash-consistent how="an atomic ZFS snapshot while $running runs"
  else
    local start
    start=$(date +%s%N)
    pause_slot "$running"
    phase paused
    be snapshot "$state" "$snap"
    resume_slot "$running"
    level=crash-consistent how="$running was paused for $((($(date +%s%N) - start) / 1000000)) ms"
  fi
  log "snapshot $state@$snap taken: $level ($how)"
  if flag --json; then
    jq -n --arg state "$state" --arg snap "$snap" --arg level "$level" --arg how "$how" \
      '{state: $state, snapshot: $snap, consistency: $level, how: $how}'
  fi
}

confirm_delete() { # WHAT
  flag --yes && return 0
  [[ -t 0 ]] || die "$EX_USAGE" "refusing to delete $1 without --yes (stdin is not a terminal)"
  local answer
  printf 'Delete %s? Type its name to confirm: ' "$1" >&2
  read -r answer || true
  [[ $answer == "$1" ]] || die "$EX_USAGE" "not confirmed; nothing deleted"
}

cmd_delete() {
  USAGE_LINE='delete NAME --yes [--if-exists]'
  parse_args "--yes --if-exists" "" "$@"
  want_args 1
  local name=${POS[0]}
  check_state "$name"
  load_config
  take_lock
  if ! be exists "$name"; then
    flag --if-exists && {
      log "state $name does not exist; nothing to do"
      return 0
    }
    die "$EX_CONFLICT" "unknown state $(shown "$name") (see: $PROG list)"
  fi
  need_not_leaving "$name"
  local slot
  slot=$(state_slot "$name")
  [[ -z $slot ]] ||
    die "$EX_CONFLICT" "state $(shown "$name") is attached to slot $slot; assign another state to $slot first"
  confirm_delete "$name"
  local count
  count=$(be snaps "$name" | wc -l)
  be delete "$name"
  log "deleted state $name and its $count snapshot(s)"
  be gc
}

cmd_delete_snapshot() {
  USAGE_LINE='delete-snapshot STATE@SNAP --yes [--if-exists]'
  parse_args "--yes --if-exists" "" "$@"
  want_args 1
  local REF_STATE REF_SNAP
  split_snapref "${POS[0]}"
  load_config
  take_lock
  if ! be exists "$REF_STATE" || ! be snap_exists "$REF_STATE" "$REF_SNAP"; then
    flag --if-exists && {
      log "snapshot $REF_STATE@$REF_SNAP does not exist; nothing to do"
      return 0
    }
    die "$EX_CONFLICT" "unknown snapshot $(shown "$REF_STATE@$REF_SNAP") (see: $PROG snapshots $REF_STATE)"
  fi
  confirm_delete "$REF_STATE@$REF_SNAP"
  be delete_snapshot "$REF_STATE" "$REF_SNAP"
  log "deleted snapshot $REF_STATE@$REF_SNAP"
  be gc
}

cmd_assign() {
  USAGE_LINE='assign SLOT STATE'
  parse_args "" "" "$@"
  want_args 2
  assign "${POS[0]}" "${POS[1]}"
}

cmd_migrate() {
  USAGE_LINE='migrate STATE SLOT'
  parse_args "" "" "$@"
  want_args 2
  assign "${POS[1]}" "${POS[0]}"
}

assign() { # SLOT STATE
  check_slot "$1"
  check_state "$2"
  load_config
  take_lock
  need_slot "$1"
  need_state "$2"
  local other
  other=$(state_slot "$2")
  [[ -z $other || $other == "$1" ]] ||
    die "$EX_CONFLICT" "state $2 is attached to $other; a state runs on one slot at most (assign $other another state first)"
  switch_slots assign "$1" "$2"
}

cmd_apply() {
  USAGE_LINE='apply FILE|-'
  parse_args "" "" "$@"
  want_args 1
  local input file=${POS[0]}
  local example='{"slots": {"slot1": "web"}} (slot name -> state name)'
  if [[ $file == - ]]; then
    input=$(cat)
  else
    [[ ! -d $file ]] || die "$EX_USAGE" "$(shown "$file") is a directory; apply reads a JSON file or - for stdin"
    [[ -r $file && -f $file ]] || die "$EX_USAGE" "cannot read $(shown "$file")"
    input=$(<"$file")
  fi
  [[ -n ${input//[[:space:]]/} ]] || die "$EX_USAGE" "apply input is empty; it must be JSON like $example"
  local parsed=()
  mapfile -d '' -t parsed < <(jq -j -s 'if length > 1 then "several\u0000"
      elif (.[0].slots | type) == "object" and ([.[0].slots[] | type == "string"] | all) then
        "ok\u0000" + ([.[0].slots | to_entries[] | .key, .value | gsub("\u0000"; "?") + "\u0000"] | add // "")
      else "shape\u0000" end' <<<"$input" 2>/dev/null || printf 'shape\0')
  case ${parsed[0]:-shape} in
    ok) ;;
    several) die "$EX_USAGE" "apply input holds several JSON documents; give exactly one, like $example" ;;
    *) die "$EX_USAGE" "apply input must be JSON like $example" ;;
  esac
  load_config
  take_lock
  switch_slots apply "${parsed[@]:1}"
}

cmd_adopt() {
  USAGE_LINE='adopt SLOT STATE'
  parse_args "" "" "$@"
  want_args 2
  local slot=${POS[0]} state=${POS[1]} link
  check_slot "$slot"
  check_state "$state"
  load_config
  take_lock
  need_slot "$slot"
  link=$(slot_link "$slot")
  not_a_link "$ROOT/$slot"
  if [[ -L $link ]]; then
    die "$EX_CONFLICT" "$link is already a link (to $(readlink -- "$link")); nothing to adopt"
  fi
  [[ -f $link ]] || die "$EX_CONFLICT" "$link is not a disk image file; nothing to adopt"
  need_new_state "$state"
  local running=''
  if is_running "$slot"; then running=$slot; fi
  if [[ -n $running ]]; then
    journal_edit stop "$slot"
    ROLLBACK_SLOTS=("$slot")
    stop_slot "$slot"
  fi
  be adopt "$link" "$state"
  log "$link is now state $state"
  if [[ -n $running ]]; then
    journal_edit link "$slot" "$state"
    ROLLBACK_SLOTS=()
  fi
  rm -f -- "$link.tmp"
  attempt "linking $slot to $state" ln -sn -- "$(state_img "$state")" "$link.tmp"
  attempt "linking $slot to $state" mv -T -- "$link.tmp" "$link"
  log "$slot -> $state"
  if [[ -n $running ]]; then
    start_slot "$slot"
    journal_edit started "$slot"
    wait_running "$slot"
  fi
}

cmd_gc() {
  USAGE_LINE='gc [--fleet-moved [STATE...]]'
  parse_args "--fleet-moved" "" "$@"
  local state
  for state in "${POS[@]}"; do check_state "$state"; done
  if ((${#POS[@]})) && ! flag --fleet-moved; then usage_error "gc takes states only with --fleet-moved"; fi
  load_config
  take_lock
  if flag --fleet-moved; then fleet_gc_moved "${POS[@]}"; fi
  be gc
}

# Hidden: vm-state __check-name slot|host|state|snapshot NAME: exit 0 if NAME is valid, else the
# usage error every command gives. The bats suite runs tests/fixtures/names.json through it.
cmd_check_name() {
  (($# == 2)) || usage_error "expected KIND NAME"
  case $1 in
    slot | host | state | snapshot) check_name "$1" "$2" ;;
    *) usage_error "unknown kind $(shown "$1")" ;;
  esac
}

# ---------------------------------------------------------------- dispatch

vm_state_main() {
  local cmd=${1:-}
  if (($#)); then shift; fi
  case $cmd in
    help | -h | --help) cmd_help ;;
    status) cmd_status "$@" ;;
    list) cmd_list "$@" ;;
    snapshots) cmd_snapshots "$@" ;;
    logs) cmd_logs "$@" ;;
    create) cmd_create "$@" ;;
    clone) cmd_clone "$@" ;;
    restore) cmd_restore "$@" ;;
    snapshot) cmd_snapshot "$@" ;;
    delete) cmd_delete "$@" ;;
    delete-snapshot) cmd_delete_snapshot "$@" ;;
    assign) cmd_assign "$@" ;;
    migrate) cmd_migrate "$@" ;;
    apply) cmd_apply "$@" ;;
    adopt) cmd_adopt "$@" ;;
    gc) cmd_gc "$@" ;;
    fleet-pull) cmd_fleet_pull "$@" ;;
    fleet-cancel) cmd_fleet_cancel "$@" ;;
    fleet-serve) cmd_fleet_serve "$@" ;;
    replicate) cmd_replicate "$@" ;;
    replica-promote) cmd_replica_promote "$@" ;;
    __check-name) cmd_check_name "$@" ;;
    '') usage_error "missing command" ;;
    *) usage_error "unknown command $(shown "$cmd")" ;;
  esac
}
