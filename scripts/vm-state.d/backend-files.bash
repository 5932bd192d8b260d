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
