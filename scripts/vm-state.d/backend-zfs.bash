# shellcheck shell=bash disable=SC2034,SC2153
# (globals are shared between the parts of vm-state: assigned in one, read in another)
# vm-state backend "zfs": a state is the dataset <pool>/states/<state>, mounted at
# $STATES/<state> (children inherit the mountpoint of <pool>/states); snapshots are native.

dataset() { printf '%s/states/%s' "$POOL" "$1"; }

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
zfs_snap_held() { return 1; }

# Builds the new state under a temporary dataset and renames it last.
# send | receive rather than `zfs clone`: the copy shares nothing with its source, so either can
# be deleted at any time and no `zfs promote` is ever needed.
zfs_create() { # DST SIZE_GIB
  local tmp mountpoint
  tmp=$(dataset "_tmp-$1")
  CLEANUP_DATASET=$tmp
  attempt "creating dataset $tmp" "$ZFS" create "$tmp"
  mountpoint=$("$ZFS" get -H -o value mountpoint "$tmp")
  make_image "$mountpoint/data.img" "$2"
  attempt "renaming $tmp" "$ZFS" rename "$tmp" "$(dataset "$1")"
  CLEANUP_DATASET=''
}
send_receive() { "$ZFS" send "$1" | "$ZFS" receive -u "$2"; }
zfs_clone() { # SRC DST INDEPENDENT
  local tmp snap=_vmstate-copy-$$
  tmp=$(dataset "_tmp-$2")
  CLEANUP_DATASET=$tmp
  CLEANUP_SNAPSHOT=$(dataset "$1")@$snap
  attempt "zfs snapshot" "$ZFS" snapshot "$CLEANUP_SNAPSHOT"
  attempt "copying state $1 (zfs send | zfs receive)" send_receive "$CLEANUP_SNAPSHOT" "$tmp"
  attempt "zfs destroy" "$ZFS" destroy "$tmp@$snap"
  attempt "zfs destroy" "$ZFS" destroy "$CLEANUP_SNAPSHOT"
  CLEANUP_SNAPSHOT=''
  zfs_finish "$2"
}
zfs_restore() { # STATE SNAP DST INDEPENDENT
  local tmp
  tmp=$(dataset "_tmp-$3")
  CLEANUP_DATASET=$tmp
  attempt "copying snapshot $1@$2 (zfs send | zfs receive)" send_receive "$(dataset "$1")@$2" "$tmp"
  attempt "zfs destroy" "$ZFS" destroy "$tmp@$2"
  zfs_finish "$3"
}
zfs_finish() { # DST: renames the temporary dataset and mounts it
  attempt "renaming $(dataset "_tmp-$1")" "$ZFS" rename "$(dataset "_tmp-$1")" "$(dataset "$1")"
  CLEANUP_DATASET=''
  attempt "mounting $(dataset "$1")" "$ZFS" mount "$(dataset "$1")"
}
zfs_snapshot() { attempt "zfs snapshot $(dataset "$1")@$2" "$ZFS" snapshot "$(dataset "$1")@$2"; }
zfs_delete() { attempt "zfs destroy -r $(dataset "$1")" "$ZFS" destroy -r "$(dataset "$1")"; }
zfs_delete_snapshot() { attempt "zfs destroy $(dataset "$1")@$2" "$ZFS" destroy "$(dataset "$1")@$2"; }
zfs_adopt() { # FILE STATE
  local tmp mountpoint
  tmp=$(dataset "_tmp-$2")
  CLEANUP_DATASET=$tmp
  attempt "creating dataset $tmp" "$ZFS" create "$tmp"
  mountpoint=$("$ZFS" get -H -o value mountpoint "$tmp")
  attempt "copying $1 into state $2" cp --sparse=always -- "$1" "$mountpoint/data.img"
  attempt "renaming $tmp" "$ZFS" rename "$tmp" "$(dataset "$2")"
  CLEANUP_DATASET=''
  rm -f -- "$1"
}

zfs_leftovers() {
  local out p
  out=$("$ZFS" list -H -o name -t filesystem,snapshot -r "$POOL/states")
  while IFS= read -r p; do
    case $p in
      "$POOL"/states/*@_vmstate-*)
        log "destroying $p left by an interrupted run"
        "$ZFS" destroy "$p"
        ;;
      "$POOL"/states/_tmp-*@*) ;;
      "$POOL"/states/_tmp-*)
        log "destroying $p left by an interrupted run"
        "$ZFS" destroy -r "$p"
        ;;
    esac
  done <<<"$out"
}
zfs_gc() { :; }
zfs_hidden() { echo '[]'; }
zfs_prepare() { :; }
zfs_live() { echo atomic; }
