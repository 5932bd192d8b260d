# shellcheck shell=bash disable=SC2034,SC2153
# (globals are shared between the parts of vm-state: assigned in one, read in another)
# vm-state backend "zfs": a state is the dataset <pool>/states/<state>, mounted at
# $STATES/<state> (children inherit the mountpoint of <pool>/states); snapshots are native.
#
# clone and restore are `zfs clone` of a snapshot: instant, no space until written. A clone
# depends on its origin snapshot, so what clones depend on is never destroyed: `delete` of such a
# state renames it into <pool>/deleted/<state>.<time> (mountpoint none), `delete-snapshot` renames
# the snapshot to <state>@_deleted-<snap>-<time>; both vanish from every listing and free their
# name at once, and gc destroys them when the last dependent is gone (as LXD/Incus do). Never
# `zfs promote` (it would invert the dependency), never `destroy -R` (it destroys dependents).
# `--independent` copies with send | receive instead: nothing shared.

dataset() { printf '%s/states/%s' "$POOL" "$1"; }
DELETED_PREFIXES='_clone- _deleted- _vmstate-'

zfs_has() { "$ZFS" list -H -o name "$1" >/dev/null 2>&1; } # DATASET or SNAPSHOT exists
zfs_exists() { zfs_has "$(dataset "$1")"; }
zfs_list() {
  local out name
  out=$("$ZFS" list -H -o name -t filesystem -d 1 "$POOL/states")
  while IFS= read -r name; do
    name=${name#"$POOL/states/"}
    if is_name state "$name"; then printf '%s\n' "$name"; fi
  done <<<"$out"
}
zfs_snap_exists() { "$ZFS" list -H -o name -t snapshot "$(dataset "$1")@$2" >/dev/null 2>&1; }
zfs_snaps() {
  local out name line
  out=$("$ZFS" list -H -p -o name,creation -t snapshot -s creation -d 1 "$(dataset "$1")")
  while IFS=$'\t' read -r name line; do
    name=${name#*@}
    if is_name snapshot "$name"; then printf '%s\t%s\n' "$name" "$line"; fi
  done <<<"$out"
}
# Lines "CLONE<TAB>ORIGIN" for every clone in the pool (one zfs call).
zfs_origins() {
  local out name origin
  out=$("$ZFS" list -H -o name,origin -t filesystem -r "$POOL")
  while IFS=$'\t' read -r name origin; do
    if [[ -n $origin && $origin != - ]]; then printf '%s\t%s\n' "$name" "$origin"; fi
  done <<<"$out"
}
# The clones of a snapshot (SNAP given) or of any snapshot of a dataset (a name without @).
dependents() { # NAME
  local clone origin
  while IFS=$'\t' read -r clone origin; do
    if [[ $origin == "$1" || ($1 != *@* && $origin == "$1"@*) ]]; then printf '%s\n' "$clone"; fi
  done < <(zfs_origins)
}
shown_dataset() { # a state's name for its dataset, the full name for anything else
  case $1 in
    "$POOL"/states/*@*) printf '%s' "${1#"$POOL"/states/}" ;;
    "$POOL"/states/*) printf '%s' "${1#"$POOL"/states/}" ;;
    *) printf '%s' "$1" ;;
  esac
}
zfs_snap_held() { [[ -n $(dependents "$(dataset "$1")@$2") ]]; }

zfs_create() { # DST SIZE_GIB
  local tmp mountpoint
  tmp=$(dataset "_tmp-$1")
  CLEANUP_DATASET=$tmp
  attempt "creating dataset $tmp" "$ZFS" create "$tmp"
  mountpoint=$("$ZFS" get -H -o value mountpoint "$tmp")
  make_image "$mountpoint/data.img" "$2"
  zfs_finish "$1"
}
send_receive() { "$ZFS" send "$1" | "$ZFS" receive -u "$2"; }
zfs_clone() { # SRC DST INDEPENDENT
  local tmp snap
  tmp=$(dataset "_tmp-$2")
  if [[ $3 == 1 ]]; then
    snap=$(dataset "$1")@_vmstate-copy-$$
    CLEANUP_DATASET=$tmp CLEANUP_SNAPSHOT=$snap
    attempt "zfs snapshot $snap" "$ZFS" snapshot "$snap"
    attempt "copying state $1 (zfs send | zfs receive)" send_receive "$snap" "$tmp"
    attempt "zfs destroy $tmp@${snap#*@}" "$ZFS" destroy "$tmp@${snap#*@}"
    attempt "zfs destroy $snap" "$ZFS" destroy "$snap"
    CLEANUP_SNAPSHOT=''
    zfs_finish "$2" mount
  else
    # The origin is a hidden snapshot of its own, so the source's snapshots stay its own business.
    snap=$(dataset "$1")@_clone-$2-$(date -u +%Y%m%d%H%M%S)
    CLEANUP_SNAPSHOT=$snap
    attempt "zfs snapshot $snap" "$ZFS" snapshot "$snap"
    CLEANUP_DATASET=$tmp
    attempt "zfs clone $snap $tmp" "$ZFS" clone "$snap" "$tmp"
    zfs_finish "$2"
    CLEANUP_SNAPSHOT=''
  fi
}
zfs_restore() { # STATE SNAP DST INDEPENDENT
  local tmp src
  tmp=$(dataset "_tmp-$3") src=$(dataset "$1")@$2
  CLEANUP_DATASET=$tmp
  if [[ $4 == 1 ]]; then
    attempt "copying snapshot $1@$2 (zfs send | zfs receive)" send_receive "$src" "$tmp"
    attempt "zfs destroy $tmp@$2" "$ZFS" destroy "$tmp@$2"
    zfs_finish "$3" mount
  else
    attempt "zfs clone $src $tmp" "$ZFS" clone "$src" "$tmp"
    zfs_finish "$3"
  fi
}
zfs_finish() { # DST [mount]: renames the temporary dataset last (receive -u leaves it unmounted)
  attempt "renaming $(dataset "_tmp-$1")" "$ZFS" rename "$(dataset "_tmp-$1")" "$(dataset "$1")"
  CLEANUP_DATASET=''
  if [[ ${2:-} == mount ]]; then attempt "mounting $(dataset "$1")" "$ZFS" mount "$(dataset "$1")"; fi
}
zfs_snapshot() { attempt "zfs snapshot $(dataset "$1")@$2" "$ZFS" snapshot "$(dataset "$1")@$2"; }

# A hidden name <pool>/PARENT/STATE.<time>[-N] that is not taken yet.
hidden_name() { free_name "$POOL/$1/$2.$(date -u +%Y%m%d%H%M%S)" zfs_has; } # PARENT STATE
# A dataset that only holds others (<pool>/deleted, moved, replicas), made when first needed.
zfs_parent() { # DATASET
  if ! zfs_has "$1"; then attempt "creating $1" "$ZFS" create -o mountpoint=none "$1"; fi
}
# zfs_destroy_or_hide DATASET STATE: destroys DATASET with its snapshots, or, while clones depend
# on it, renames it to a free <pool>/deleted/STATE.<time> (gc destroys it after the last clone).
# Sets HIDDEN_AS to that name (empty: destroyed) and HELD_BY to the clones, one a line.
HIDDEN_AS='' HELD_BY=''
zfs_destroy_or_hide() {
  HIDDEN_AS='' HELD_BY=$(dependents "$1")
  if [[ -z $HELD_BY ]]; then
    attempt "zfs destroy -r $1" "$ZFS" destroy -r "$1"
    return 0
  fi
  zfs_parent "$POOL/deleted"
  HIDDEN_AS=$(hidden_name deleted "$2")
  attempt "hiding $1" "$ZFS" rename "$1" "$HIDDEN_AS"
}
zfs_delete() { # STATE
  zfs_destroy_or_hide "$(dataset "$1")" "$1"
  if [[ -n $HIDDEN_AS ]]; then
    log "state $1 is hidden as $HIDDEN_AS until what depends on it is deleted: $(for d in $HELD_BY; do shown_dataset "$d"; printf ' '; done)"
  fi
}
zfs_delete_snapshot() { # STATE SNAP
  local snap deps hidden
  snap=$(dataset "$1")@$2
  deps=$(dependents "$snap")
  if [[ -z $deps ]]; then
    attempt "zfs destroy $snap" "$ZFS" destroy "$snap"
    return 0
  fi
  hidden=$(dataset "$1")@_deleted-$2-$(date -u +%Y%m%d%H%M%S)
  attempt "hiding $snap" "$ZFS" rename "$snap" "$hidden"
  log "snapshot $1@$2 is hidden as $hidden until what depends on it is deleted: $(for d in $deps; do shown_dataset "$d"; printf ' '; done)"
}
zfs_adopt() { # FILE STATE
  local tmp mountpoint
  tmp=$(dataset "_tmp-$2")
  CLEANUP_DATASET=$tmp
  attempt "creating dataset $tmp" "$ZFS" create "$tmp"
  mountpoint=$("$ZFS" get -H -o value mountpoint "$tmp")
  attempt "copying $1 into state $2" cp --sparse=always -- "$1" "$mountpoint/data.img"
  zfs_finish "$2"
  rm -f -- "$1"
}

zfs_leftovers() {
  local out p
  out=$("$ZFS" list -H -o name -t filesystem -d 1 "$POOL/states")
  while IFS= read -r p; do
    case $p in
      "$POOL"/states/_tmp-*)
        log "destroying $p left by an interrupted run"
        attempt "zfs destroy -r $p" "$ZFS" destroy -r "$p"
        ;;
    esac
  done <<<"$out"
  zfs_gc
}
# vm-state's own hidden snapshot (not sanoid's autosnap_*, not a user's)?
own_hidden_snapshot() {
  local prefix
  for prefix in $DELETED_PREFIXES; do
    if [[ ${1#*@} == "$prefix"* ]]; then return 0; fi
  done
  return 1
}
# Destroys, until nothing changes, what is hidden and held by nothing: vm-state's own hidden
# snapshots without clones, every snapshot of a hidden dataset without clones, then hidden
# datasets without snapshots (destroying one may free its own origin in turn).
zfs_gc() {
  local out name origin acted=1
  local -A held=() snaps=()
  while ((acted)); do
    acted=0 held=() snaps=()
    out=$("$ZFS" list -H -o name,origin -t filesystem,snapshot -r "$POOL")
    while IFS=$'\t' read -r name origin; do
      if [[ -n $origin && $origin != - ]]; then held[$origin]=1; fi
      if [[ $name == *@* ]]; then snaps[${name%@*}]=$((${snaps[${name%@*}]:-0} + 1)); fi
    done <<<"$out"
    while IFS=$'\t' read -r name origin; do
      if [[ $name == *@* && -z ${held[$name]:-} ]] &&
        { [[ $name == "$POOL"/deleted/* ]] || { [[ $name == "$POOL"/states/* ]] && own_hidden_snapshot "$name"; }; }; then
        log "gc: destroying $name (nothing depends on it)"
        attempt "zfs destroy $name" "$ZFS" destroy "$name"
        acted=1
      elif [[ $name == "$POOL"/deleted/* && $name != *@* && $name != */deleted/*/* && -z ${snaps[$name]:-} ]]; then
        log "gc: destroying $name (nothing depends on it)"
        attempt "zfs destroy $name" "$ZFS" destroy "$name"
        acted=1
      fi
    done <<<"$out"
  done
}
# Hidden data and what holds it, for list --all.
zfs_hidden() {
  local out name origin rows=()
  local -A holders=()
  out=$("$ZFS" list -H -o name,origin -t filesystem,snapshot -r "$POOL")
  while IFS=$'\t' read -r name origin; do
    if [[ -n $origin && $origin != - ]]; then
      holders[$origin]+="$(shown_dataset "$name")"$'\n'
      holders[${origin%@*}]+="$(shown_dataset "$name")"$'\n'
    fi
  done <<<"$out"
  while IFS=$'\t' read -r name origin; do
    if [[ $name == "$POOL"/deleted/* && $name != *@* ]]; then
      rows+=("$name" "$(basename -- "${name%%.*}")" "${holders[$name]:-}")
    elif [[ $name == "$POOL"/states/*@* ]] && own_hidden_snapshot "$name"; then
      rows+=("$name" "$(hidden_was "$name")" "${holders[$name]:-}")
    fi
  done <<<"$out"
  if ((${#rows[@]} == 0)); then
    echo '[]'
    return 0
  fi
  jq -cn '$ARGS.positional | [range(0; length; 3) as $i | .[$i:$i + 3]
    | {name: .[0], was: .[1], heldBy: (.[2] | split("\n") | map(select(. != "")) | unique)}]' --args "${rows[@]}"
}
hidden_was() { # <pool>/states/S@_deleted-SNAP-TIME | S@_clone-DST-TIME | S@_vmstate-...
  local state=${1#"$POOL"/states/} snap
  snap=${state#*@} state=${state%@*}
  case $snap in
    _deleted-*) snap=${snap#_deleted-} && printf '%s@%s' "$state" "${snap%-*}" ;;
    _clone-*) snap=${snap#_clone-} && printf 'origin of %s (from %s)' "${snap%-*}" "$state" ;;
    *) printf '%s@%s' "$state" "$snap" ;;
  esac
}
zfs_prepare() { :; }
zfs_live() { echo atomic; }

# ---------------------------------------------------------------- fleet (zfs)
# States travel as zfs send streams over SSH into `zfs receive -s -u`: a receive cut short keeps
# what it got and a resume token (the receive_resume_token property); `zfs send -t TOKEN` sends
# the rest, and `zfs receive -A` drops it. The sender checks a token before using it (a token
# names what it resumes, and would send any snapshot it names): it must resume a snapshot of the
# state this operation sends, by name and by guid.
#   <pool>/states/<state>@_fleet-move-1, -2   the move's marks on the source: the first copy, the catch-up
#   <pool>/states/_fleet-in-<state>           a move arriving (unmounted until renamed into place)
#   <pool>/moved/<state>.<time>               a state moved away, kept until gc --fleet-moved
#   <pool>/states/<state>@_replica-<to>-<time>  the newest snapshot sent to <to> (the next base)
#   <pool>/replicas/<state>                   a replica held here (mountpoint none, never mounted)

zfs_fleet_in_name() { dataset "_fleet-in-$1"; }
zfs_token() { # DATASET: its receive_resume_token, or nothing
  local token
  zfs_has "$1" || return 0
  token=$("$ZFS" get -H -o value receive_resume_token "$1" 2>/dev/null) || return 0
  if [[ $token != - ]]; then printf '%s' "$token"; fi
}
# zfs_check_token TOKEN STATE PREFIX: the token resumes a snapshot <state>@PREFIX* that exists
# here with the token's guid; prints that snapshot.
zfs_check_token() {
  local out toname toguid guid
  out=$("$ZFS" send -nv -t "$1" 2>&1) || die "$EX_ERROR" "zfs refused the resume token: $(last_line "$out")"
  toname=$(sed -n 's/^[[:space:]]*toname = //p' <<<"$out" | head -1)
  toguid=$(sed -n 's/^[[:space:]]*toguid = //p' <<<"$out" | head -1)
  [[ $toname == "$(dataset "$2")@$3"* && $toname != *[[:space:]]* ]] ||
    die "$EX_USAGE" "the resume token is for $(shown "$toname"), not a snapshot of $2 that this transfer sends"
  guid=$("$ZFS" get -H -p -o value guid "$toname" 2>/dev/null) ||
    die "$EX_CONFLICT" "the resume token is for $toname, which no longer exists"
  [[ $toguid =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ && $(printf '%u' "$toguid") == "$guid" ]] ||
    die "$EX_CONFLICT" "the resume token is for an earlier $toname (another guid); start the transfer again"
  printf '%s' "$toname"
}

# The source's side of a move.
zfs_fleet_out_prepare() { # STATE initial|final
  local snap
  snap=$(dataset "$1")@_fleet-move-1
  if [[ $2 == final ]]; then snap=$(dataset "$1")@_fleet-move-2; fi
  if ! zfs_has "$snap"; then attempt "zfs snapshot $snap" "$ZFS" snapshot "$snap"; fi
}
zfs_fleet_out_send() { # STATE initial|final
  local ds
  ds=$(dataset "$1")
  if [[ $2 == initial ]]; then
    "$ZFS" send "$ds@_fleet-move-1" 9>&- 8>&-
  else
    "$ZFS" send -i @_fleet-move-1 "$ds@_fleet-move-2" 9>&- 8>&-
  fi
}
zfs_fleet_out_send_resume() { # STATE TOKEN PREFIX
  zfs_check_token "$2" "$1" "$3" >/dev/null
  "$ZFS" send -t "$2" 9>&- 8>&-
}
zfs_fleet_out_cleanup() { # STATE: the move's marks go
  local snap
  for snap in _fleet-move-2 _fleet-move-1; do
    if zfs_has "$(dataset "$1")@$snap"; then
      attempt "zfs destroy $(dataset "$1")@$snap" "$ZFS" destroy "$(dataset "$1")@$snap"
    fi
  done
}
zfs_fleet_out_hide() { # STATE -> prints where it is kept
  local hidden
  zfs_parent "$POOL/moved"
  hidden=$(hidden_name moved "$1")
  attempt "hiding $(dataset "$1")" "$ZFS" rename "$(dataset "$1")" "$hidden"
  printf '%s' "$hidden"
}
# A moved copy that clones still depend on is hidden with the deleted ones instead (gc collects it).
zfs_fleet_out_purge() { # HIDDEN
  [[ $1 == "$POOL"/moved/* && $1 != *@* ]] || die "$EX_ERROR" "refusing to destroy $(shown "$1"): not under $POOL/moved"
  zfs_has "$1" || return 0
  zfs_destroy_or_hide "$1" "$(basename -- "${1%.*}")"
  if [[ -n $HIDDEN_AS ]]; then log "$1 is hidden as $HIDDEN_AS until what depends on it is deleted"; fi
}

# The target's side of a move.
zfs_fleet_in_token() { zfs_token "$(zfs_fleet_in_name "$1")"; }
zfs_fleet_in_abort() {
  local ds
  ds=$(zfs_fleet_in_name "$1")
  if [[ -n $(zfs_token "$ds") ]]; then attempt "zfs receive -A $ds" "$ZFS" receive -A "$ds"; fi
  if zfs_has "$ds"; then attempt "zfs destroy -r $ds" "$ZFS" destroy -r "$ds"; fi
}
zfs_fleet_in_receive() { # STATE initial|final|resume
  local ds flags=(-s -u)
  ds=$(zfs_fleet_in_name "$1")
  if [[ $2 == final ]]; then flags+=(-F); fi
  "$ZFS" receive "${flags[@]}" "$ds" 9>&- 8>&-
}
zfs_fleet_in_complete() { # STATE initial|final
  local ds snap=_fleet-move-1
  ds=$(zfs_fleet_in_name "$1")
  if [[ $2 == final ]]; then snap=_fleet-move-2; fi
  [[ -z $(zfs_token "$ds") ]] && zfs_has "$ds@$snap"
}
zfs_fleet_in_place() { # STATE: renamed into place, mounted, the move's marks destroyed
  local ds
  ds=$(zfs_fleet_in_name "$1")
  attempt "renaming $ds" "$ZFS" rename "$ds" "$(dataset "$1")"
  attempt "mounting $(dataset "$1")" "$ZFS" mount "$(dataset "$1")"
  zfs_fleet_out_cleanup "$1" # the marks arrived with the stream: the same names as on the source
}

# Replication, the source's side: snapshots _replica-<to>-<time>; the newest one the target
# received is the base of the next incremental (zfs send -I: every snapshot in between goes too).
zfs_fleet_repl_mark() { zfs_snapshot "$1" "$2"; }
zfs_fleet_repl_send() { # STATE SNAP BASE
  if [[ -n $3 ]]; then
    "$ZFS" send -I "@$3" "$(dataset "$1")@$2" 9>&- 8>&-
  else
    "$ZFS" send "$(dataset "$1")@$2" 9>&- 8>&-
  fi
}
zfs_fleet_repl_exists() { zfs_has "$(dataset "$1")@$2"; }
zfs_fleet_repl_has_base() { # STATE SNAP GUID: the snapshot exists here, with that guid (if given)
  local guid
  guid=$("$ZFS" get -H -p -o value guid "$(dataset "$1")@$2" 2>/dev/null) || return 1
  [[ -z $3 || $3 == "$guid" ]]
}
# Keeps, of the snapshots sent to TO, only the newest (SNAP); never one a clone depends on.
zfs_fleet_repl_done() { # STATE SNAP TO
  local name
  while IFS=$'\t' read -r name _; do
    name=${name#*@}
    if [[ $name == "_replica-$3-"* && $name != "$2" ]] && [[ -z $(dependents "$(dataset "$1")@$name") ]]; then
      attempt "zfs destroy $(dataset "$1")@$name" "$ZFS" destroy "$(dataset "$1")@$name"
    fi
  done < <("$ZFS" list -H -p -o name,creation -t snapshot -s creation -d 1 "$(dataset "$1")")
}

# Replication, the target's side.
zfs_fleet_replica_name() { printf '%s/replicas/%s' "$POOL" "$1"; }
zfs_fleet_replica_exists() { zfs_has "$(zfs_fleet_replica_name "$1")"; }
zfs_fleet_replica_snaps() { # every snapshot of the replica, oldest first
  local out name
  out=$("$ZFS" list -H -o name -t snapshot -s creation -d 1 "$(zfs_fleet_replica_name "$1")" 2>/dev/null) || return 0
  while IFS= read -r name; do
    if [[ -n $name ]]; then printf '%s\n' "${name#*@}"; fi
  done <<<"$out"
}
zfs_fleet_replica_json() {
  local ds snaps=() guid='' token
  ds=$(zfs_fleet_replica_name "$1")
  mapfile -t snaps < <(zfs_fleet_replica_snaps "$1")
  if ((${#snaps[@]})); then guid=$("$ZFS" get -H -p -o value guid "$ds@${snaps[-1]}"); fi
  token=$(zfs_token "$ds")
  jq -cn --arg from "$(rec_get replicas "$1" from)" --arg guid "$guid" --arg token "$token" '$ARGS.positional as $s
    | {from: (if $from == "" then null else $from end), snapshots: $s, latest: $s[-1],
       latestGuid: (if $guid == "" then null else $guid end), resumeToken: (if $token == "" then null else $token end)}' \
    --args "${snaps[@]}"
}
zfs_fleet_replica_receive() { # STATE SNAP|resume
  local ds flags=(-s -u)
  ds=$(zfs_fleet_replica_name "$1")
  zfs_parent "$POOL/replicas"
  if [[ $2 != resume ]] && zfs_has "$ds"; then flags+=(-F); fi
  "$ZFS" receive "${flags[@]}" "$ds" 9>&- 8>&- || die "$EX_ERROR" "zfs receive into $ds failed"
  if [[ $2 != resume ]] && ! zfs_has "$ds@$2"; then die "$EX_ERROR" "the stream did not hold $2"; fi
}
zfs_fleet_replica_destroy_snap() { attempt "zfs destroy $(zfs_fleet_replica_name "$1")@$2" "$ZFS" destroy "$(zfs_fleet_replica_name "$1")@$2"; }
# The replica becomes the state (renamed, mounted); its _replica-* snapshots become replica-<time>.
# Renamed to its final name first: a temporary _tmp- name would be a leftover the next change
# destroys, and this may be the only copy there is.
zfs_fleet_replica_promote() { # STATE NAME
  local ds snap
  ds=$(zfs_fleet_replica_name "$1")
  if [[ -n $(zfs_token "$ds") ]]; then
    log "dropping an interrupted replication of $1 (zfs receive -A)"
    attempt "zfs receive -A $ds" "$ZFS" receive -A "$ds"
  fi
  [[ -n $(zfs_fleet_replica_snaps "$1") ]] || die "$EX_CONFLICT" "the replica of $1 holds no complete snapshot"
  attempt "renaming $ds" "$ZFS" rename "$ds" "$(dataset "$2")"
  while IFS= read -r snap; do
    snap=${snap#*@}
    [[ $snap == _replica-* ]] || continue
    attempt "renaming $(dataset "$2")@$snap" "$ZFS" rename "$(dataset "$2")@$snap" "$(dataset "$2")@$(replica_visible_name "$snap")"
  done < <("$ZFS" list -H -o name -t snapshot -s creation -d 1 "$(dataset "$2")")
  attempt "mounting $(dataset "$2")" "$ZFS" mount "$(dataset "$2")"
}
