# shellcheck shell=bash disable=SC2034,SC2153
# (globals are shared between the parts of vm-state: assigned in one, read in another)
# vm-state backends "files" and "xfs": a state is the directory $STATES/<state> holding data.img;
# its snapshots are files in $STATES/<state>/.snapshots/<snap>.img. Every copy is a whole,
# independent file. "files" copies with reflinks where the filesystem has them (else a sparse
# copy); "xfs" requires reflinks, so every clone, snapshot and restore takes constant time and no
# space until written. xfs defines only what differs (use_backend falls back to files_*).

snap_img() { printf '%s/%s/.snapshots/%s.img' "$STATES" "$1" "$2"; }

files_exists() { [[ ! -L $STATES/$1 && -f $(state_img "$1") ]]; }
files_list() {
  local d name
  for d in "$STATES"/*/; do
    d=${d%/}
    name=${d##*/}
    if [[ -L $d ]]; then
      log "warning: $d is a symbolic link, not a state; not listed"
    elif is_name state "$name" && [[ -f $d/data.img ]]; then
      printf '%s\n' "$name"
    fi
  done
}
files_snap_exists() { [[ ! -L $STATES/$1/.snapshots && -f $(snap_img "$1" "$2") ]]; }
files_snaps() {
  [[ ! -L $STATES/$1/.snapshots ]] || return 0
  local f name files=()
  for f in "$STATES/$1"/.snapshots/*.img; do
    name=${f##*/}
    name=${name%.img}
    if is_name snapshot "$name"; then files+=("$f"); fi
  done
  ((${#files[@]})) || return 0
  # One stat for all: "EPOCH<TAB>PATH" (names hold no tab or newline), oldest first.
  stat -c $'%Y\t%n' -- "${files[@]}" | sort -t $'\t' -k1,1n -k2,2 | while IFS=$'\t' read -r epoch f; do
    name=${f##*/}
    printf '%s\t%s\n' "${name%.img}" "$epoch"
  done
}
files_snap_held() { return 1; }

# copy SRC DST WHAT
files_copy() { attempt "copying $3" cp --reflink=auto --sparse=always -- "$1" "$2"; }
xfs_copy() { attempt "copying $3" cp --reflink=always -- "$1" "$2"; }
copy_image() { "${BACKEND}_copy" "$@"; }

make_image() { # PATH SIZE_GIB
  attempt "creating a ${2} GiB image" truncate -s "$2G" -- "$1"
  attempt "formatting the new image (mkfs.ext4)" mkfs.ext4 -q -F -L "$LABEL" -- "$1"
}

# Builds the new state DST under a temporary name and renames it last, so an interrupted run
# never leaves a half-made state under its final name.
#   files_new DST empty SIZE_GIB | copy FILE WHAT
files_new() {
  local dst=$1 how=$2 tmp=$STATES/.tmp-$1
  CLEANUP_PATH=$tmp
  attempt "creating $tmp" mkdir -- "$tmp"
  case $how in
    empty) make_image "$tmp/data.img" "$3" ;;
    copy) copy_image "$3" "$tmp/data.img" "$4" ;;
  esac
  attempt "renaming $tmp to $STATES/$dst" mv -T -- "$tmp" "$STATES/$dst"
  CLEANUP_PATH=''
}
files_create() { files_new "$1" empty "$2"; }
files_clone() { files_new "$2" copy "$(state_img "$1")" "state $1"; }
files_restore() { files_new "$3" copy "$(snap_img "$1" "$2")" "snapshot $1@$2"; }

files_snapshot() { # STATE SNAP
  local dir=$STATES/$1/.snapshots
  attempt "creating $dir" mkdir -p -- "$dir"
  CLEANUP_PATH=$dir/.tmp-$2.img
  copy_image "$(state_img "$1")" "$CLEANUP_PATH" "state $1"
  attempt "renaming the snapshot into place" mv -T -- "$CLEANUP_PATH" "$(snap_img "$1" "$2")"
  CLEANUP_PATH=''
}

files_delete() {
  # Rename first so a half-deleted state never looks like a state.
  CLEANUP_PATH=$STATES/.tmp-del.$1
  attempt "moving $STATES/$1 away" mv -T -- "$STATES/$1" "$CLEANUP_PATH"
  rm -rf -- "$CLEANUP_PATH"
  CLEANUP_PATH=''
}
files_delete_snapshot() { rm -f -- "$(snap_img "$1" "$2")"; }

# adopt FILE STATE: a rename when FILE is on the states' filesystem (nothing copied, a running VM
# keeps its open file), else a copy under a temporary name and the original removed last.
files_adopt() {
  local file=$1 state=$2 dir=$STATES/$2
  if [[ $(stat -c %d -- "$file") == "$(stat -c %d -- "$STATES")" ]]; then
    attempt "creating $dir" mkdir -p -- "$dir"
    attempt "moving $file into state $state" mv -T -- "$file" "$dir/data.img"
  else
    files_new "$state" copy "$file" "$file"
    rm -f -- "$file"
  fi
}

files_leftovers() {
  local p
  for p in "$STATES"/.tmp-* "$STATES"/*/.snapshots/.tmp-*; do
    log "removing $p left by an interrupted run"
    rm -rf -- "$p"
  done
}
files_gc() { :; }
files_hidden() { echo '[]'; }
files_prepare() { :; }
files_live() { echo pause; }

# Refuses a filesystem without reflinks: there a "constant-time" copy would copy every byte.
# The probe runs once per filesystem: its result is a file on that filesystem.
xfs_prepare() {
  local mark=$STATES/.vm-state-reflink probe err
  if [[ -f $mark && ! -L $mark ]]; then return 0; fi
  probe=$(mktemp -- "$STATES/.tmp-reflink.XXXXXX")
  printf x >"$probe"
  if ! err=$(cp --reflink=always -- "$probe" "$probe.copy" 2>&1); then
    rm -f -- "$probe" "$probe.copy"
    die "$EX_ERROR" "backend xfs needs reflinks, and the filesystem of $STATES has none ($(last_line "$err")); format it with 'mkfs.xfs -m reflink=1' or use the files backend"
  fi
  rm -f -- "$probe" "$probe.copy"
  : >"$mark"
}

# ---------------------------------------------------------------- fleet (files and xfs)
# A state travels as a GNU tar stream of its data.img with --sparse: holes are found with
# SEEK_DATA/SEEK_HOLE and never sent, and are holes again on the other end. There is no
# incremental stream on these backends: the catch-up of a move sends the stopped image again.
# The target extracts only the member data.img into a directory of its own, then checks that it
# is a regular file.
#   states/.fleet-in-<state>/data.img        a move arriving (next/data.img: its catch-up)
#   states/.moved/<state>.<time>/            a state moved away, kept until gc --fleet-moved
#   states/.fleet-out/<state>/data.img       the frozen copy a replication sends
#   states/.replicas/<state>/<snap>.img      the replicas held here, one full copy each

files_fleet_in_name() { printf '%s/.fleet-in-%s' "$STATES" "$1"; }
tar_send() { # DIR: DIR/data.img as a sparse tar stream on stdout
  tar --sparse --format=gnu -c -f - -C "$1" -- data.img 9>&- 8>&-
}
tar_receive() { # DIR: the member data.img of the tar stream on stdin, into DIR (empty)
  local dir=$1
  tar -x -f - -C "$dir" --no-same-owner --no-same-permissions --no-overwrite-dir -- data.img 9>&- 8>&- ||
    die "$EX_ERROR" "the stream did not hold a complete data.img"
  [[ -f $dir/data.img && ! -L $dir/data.img ]] || die "$EX_ERROR" "the stream's data.img is not a regular file"
}

# The source's side of a move.
files_fleet_out_prepare() { :; }
files_fleet_out_send() { # STATE initial|final
  local rc=0
  tar --sparse --format=gnu --warning=no-file-changed -c -f - -C "$STATES/$1" -- data.img 9>&- 8>&- || rc=$?
  # 1: the image changed while tar read it (a running VM): only the first copy is sent that way,
  # and the catch-up sends the stopped image again.
  if [[ $rc == 1 && $2 == initial ]]; then rc=0; fi
  return "$rc"
}
files_fleet_out_send_resume() { die "$EX_USAGE" "resume tokens exist on zfs only"; }
files_fleet_out_cleanup() { :; }
files_fleet_out_hide() { # STATE -> prints where it is kept
  local hidden
  attempt "creating $STATES/.moved" mkdir -p -- "$STATES/.moved"
  hidden=$STATES/.moved/$1.$(date -u +%Y%m%d%H%M%S)
  attempt "hiding $STATES/$1" mv -T -- "$STATES/$1" "$hidden"
  printf '%s' "$hidden"
}
files_fleet_out_purge() { # HIDDEN
  [[ $1 == "$STATES"/.moved/* ]] || die "$EX_ERROR" "refusing to remove $(shown "$1"): not under $STATES/.moved"
  rm -rf -- "$1"
}

# The target's side of a move.
files_fleet_in_token() { :; }
files_fleet_in_abort() { rm -rf -- "$(files_fleet_in_name "$1")"; }
files_fleet_in_receive() { # STATE initial|final
  local dir
  dir=$(files_fleet_in_name "$1")
  case $2 in
    initial)
      rm -rf -- "$dir"
      attempt "creating $dir" mkdir -- "$dir"
      tar_receive "$dir"
      ;;
    final)
      [[ -f $dir/data.img ]] || die "$EX_ERROR" "no first copy of $1 here to catch up"
      rm -rf -- "$dir/next"
      attempt "creating $dir/next" mkdir -- "$dir/next"
      tar_receive "$dir/next"
      attempt "replacing the first copy of $1" mv -T -- "$dir/next/data.img" "$dir/data.img"
      rmdir -- "$dir/next"
      ;;
    *) die "$EX_ERROR" "nothing to resume on the $BACKEND backend" ;;
  esac
}
files_fleet_in_complete() { [[ -f $(files_fleet_in_name "$1")/data.img && ! -e $(files_fleet_in_name "$1")/next ]]; }
files_fleet_in_place() { attempt "renaming $(files_fleet_in_name "$1")" mv -T -- "$(files_fleet_in_name "$1")" "$STATES/$1"; }

# Replication, the source's side: a frozen copy (the VM paused for it, as for a snapshot).
files_fleet_repl_mark() { # STATE SNAP
  local dir=$STATES/.fleet-out/$1 slot
  rm -rf -- "$dir"
  attempt "creating $dir" mkdir -p -- "$dir"
  slot=$(state_slot "$1")
  if [[ -n $slot ]] && is_running "$slot"; then
    pause_slot "$slot"
    copy_image "$(state_img "$1")" "$dir/data.img" "state $1"
    resume_slot "$slot"
  else
    copy_image "$(state_img "$1")" "$dir/data.img" "state $1"
  fi
}
files_fleet_repl_send() { tar_send "$STATES/.fleet-out/$1"; } # STATE SNAP BASE (always a full copy)
files_fleet_repl_exists() { return 1; }
files_fleet_repl_has_base() { return 0; }
files_fleet_repl_done() { rm -rf -- "$STATES/.fleet-out/$1"; }

# Replication, the target's side.
files_fleet_replica_name() { printf '%s/.replicas/%s' "$STATES" "$1"; }
files_fleet_replica_exists() { [[ -d $STATES/.replicas/$1 && ! -L $STATES/.replicas/$1 ]]; }
files_fleet_replica_snaps() { # names, oldest first
  local f name
  for f in "$STATES/.replicas/$1"/*.img; do
    name=${f##*/}
    printf '%s\n' "${name%.img}"
  done | sort
}
files_fleet_replica_json() {
  local snaps=()
  mapfile -t snaps < <(files_fleet_replica_snaps "$1")
  jq -cn --arg from "$(rec_get replicas "$1" from)" '$ARGS.positional as $s
    | {from: (if $from == "" then null else $from end), snapshots: $s, latest: $s[-1], latestGuid: null, resumeToken: null}' \
    --args "${snaps[@]}"
}
files_fleet_replica_receive() { # STATE SNAP
  local dir=$STATES/.replicas/$1
  [[ $2 != resume ]] || die "$EX_ERROR" "nothing to resume on the $BACKEND backend"
  not_a_link "$STATES/.replicas"
  not_a_link "$dir"
  attempt "creating $dir" mkdir -p -- "$dir"
  CLEANUP_PATH=$dir/.tmp-$2
  rm -rf -- "$CLEANUP_PATH"
  attempt "creating $CLEANUP_PATH" mkdir -- "$CLEANUP_PATH"
  tar_receive "$CLEANUP_PATH"
  attempt "keeping the replica $2" mv -T -- "$CLEANUP_PATH/data.img" "$dir/$2.img"
  rm -rf -- "$CLEANUP_PATH"
  CLEANUP_PATH=''
}
files_fleet_replica_destroy_snap() { rm -f -- "$STATES/.replicas/$1/$2.img"; }
# The newest copy becomes the state's image, the older ones its snapshots replica-<time>. Built in
# the replica's own directory (never a .tmp- leftover: this may be the only copy there is), so an
# interrupted promote goes on from where it stopped.
files_fleet_replica_promote() { # STATE NAME
  local dir=$STATES/.replicas/$1 work=$STATES/.replicas/$1/.promote snaps=() i n snap
  mapfile -t snaps < <(files_fleet_replica_snaps "$1")
  attempt "creating $work" mkdir -p -- "$work/.snapshots"
  n=${#snaps[@]}
  if [[ ! -f $work/data.img ]]; then
    ((n)) || die "$EX_CONFLICT" "the replica of $1 holds no complete copy"
    n=$((n - 1))
    attempt "making $1's newest replica a state" mv -T -- "$dir/${snaps[n]}.img" "$work/data.img"
  fi
  for ((i = 0; i < n; i++)); do
    snap=${snaps[i]}
    attempt "keeping $snap" mv -T -- "$dir/$snap.img" "$work/.snapshots/$(replica_visible_name "$snap").img"
  done
  attempt "renaming $work to $STATES/$2" mv -T -- "$work" "$STATES/$2"
  rm -rf -- "$dir"
}
