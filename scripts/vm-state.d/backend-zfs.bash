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

zfs_exists() { "$ZFS" list -H -o name "$(dataset "$1")" >/dev/null 2>&1; }
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

# A hidden name under <pool>/deleted that is not taken yet.
hidden_name() { # STATE
  local base n=1 name
  base=$POOL/deleted/$1.$(date -u +%Y%m%d%H%M%S)
  name=$base
  while "$ZFS" list -H -o name "$name" >/dev/null 2>&1; do
    n=$((n + 1))
    name=$base-$n
  done
  printf '%s' "$name"
}
zfs_delete() { # STATE
  local ds deps hidden
  ds=$(dataset "$1")
  deps=$(dependents "$ds")
  if [[ -z $deps ]]; then
    attempt "zfs destroy -r $ds" "$ZFS" destroy -r "$ds"
    return 0
  fi
  if ! "$ZFS" list -H -o name "$POOL/deleted" >/dev/null 2>&1; then
    attempt "creating $POOL/deleted" "$ZFS" create -o mountpoint=none "$POOL/deleted"
  fi
  hidden=$(hidden_name "$1")
  attempt "hiding $ds" "$ZFS" rename "$ds" "$hidden"
  log "state $1 is hidden as $hidden until what depends on it is deleted: $(for d in $deps; do shown_dataset "$d"; printf ' '; done)"
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
