# Shared setup for the vm-state tests: a temporary root per test, its own infra.json, the
# recording fakes first, HOME redirected. Load with `load helpers`.
bats_require_minimum_version 1.5.0
VM_STATE_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/bats/lib/require.bash
source "$VM_STATE_TESTS/../lib/require.bash"

REPO=$(cd "$VM_STATE_TESTS/../../.." && pwd)
VM_STATE=${VM_STATE_BIN:-$REPO/scripts/vm-state}
FAKES=$VM_STATE_TESTS/fakes
# The one fake systemctl, shared with the real-SSH tests.
SYSTEMCTL_FAKE=$REPO/tests/fakes/systemctl
MiB=1048576
# The backend the suite runs on: files (default) on the temporary directory, or xfs on the
# loop-mounted XFS at VM_STATE_TEST_XFS (xfs.bats runs the whole suite that way).
TEST_BACKEND=${VM_STATE_TEST_BACKEND:-files}

# write_config BACKEND SLOT... : infra.json with those slots (indexes from 1).
# Backend "files" stands for the backend the suite runs on.
write_config() {
  local backend=$1
  shift
  if [[ $backend == files ]]; then backend=$TEST_BACKEND; fi
  jq -n --arg backend "$backend" '{
    version: 1,
    storage: {backend: $backend, pool: "tank", device: null, autoSnapshots: []},
    guest: {dataLabel: "vmstate"},
    slots: [$ARGS.positional | to_entries[] | {name: .value, index: (.key + 1)}]
  }' --args "$@" >"$VM_STATE_CONFIG"
}

setup_vm_state() {
  PATH=$PATH:/usr/sbin:/sbin # e2fsprogs lives here on Debian, outside a normal user's PATH
  require_tools jq flock mkfs.ext4 e2label cksum setsid
  export HOME=$BATS_TEST_TMPDIR/home
  export VM_STATE_ROOT=$BATS_TEST_TMPDIR/root
  if [[ $TEST_BACKEND == xfs ]]; then
    [[ -d ${VM_STATE_TEST_XFS:-} ]] || {
      echo "VM_STATE_TEST_BACKEND=xfs needs VM_STATE_TEST_XFS, a mounted XFS with reflinks" >&2
      return 1
    }
    rm -rf "$VM_STATE_TEST_XFS"/t-* # the previous test's root: the XFS is small
    export VM_STATE_ROOT=$VM_STATE_TEST_XFS/t-$BATS_SUITE_TEST_NUMBER/root
  fi
  export VM_STATE_CONFIG=$BATS_TEST_TMPDIR/infra.json
  export VM_STATE_SYSTEMCTL=$SYSTEMCTL_FAKE
  export VM_STATE_ZFS=$FAKES/zfs
  export FAKE_SYSTEMCTL_DIR=$BATS_TEST_TMPDIR/units
  export FAKE_SYSTEMCTL_LOG=$BATS_TEST_TMPDIR/systemctl.log
  export VM_STATE_CH_REMOTE=$FAKES/ch-remote
  export FAKE_CH_REMOTE_DIR=$BATS_TEST_TMPDIR/ch FAKE_CH_REMOTE_LOG=$BATS_TEST_TMPDIR/ch-remote.log
  export FAKE_ZFS_DIR=$BATS_TEST_TMPDIR/zfs
  export FAKE_ZFS_LOG=$BATS_TEST_TMPDIR/zfs.log
  export VM_STATE_START_TIMEOUT=2 VM_STATE_LOCK_WAIT=20
  unset VM_STATE_BACKEND VM_STATE_LOCK NO_COLOR FAKE_ROOT FAKE_SYSTEMCTL_CONTROL FAKE_SYSTEMCTL_DEAD FAKE_SYSTEMCTL_HANG FAKE_SYSTEMCTL_FAIL FAKE_SYSTEMCTL_START_FAIL FAKE_CH_REMOTE_FAIL VM_STATE_TEST_PHASE
  mkdir -p "$HOME" "$FAKE_SYSTEMCTL_DIR"
  : >"$FAKE_SYSTEMCTL_LOG"
  : >"$FAKE_ZFS_LOG"
  : >"$FAKE_CH_REMOTE_LOG"
  write_config files slot1 slot2 slot3
}

vm() { "$VM_STATE" "$@"; }

# A 1 GiB state NAME whose image holds TEXT at 512 MiB (so its bytes are recognisable).
make_state() {
  vm create "$1" --size-gib 1 2>/dev/null
  put_text "$VM_STATE_ROOT/states/$1/data.img" $((512 * MiB)) "${2:-data of $1}"
}
put_text() { printf '%s' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
get_text() { dd if="$1" bs=1 skip="$2" count="$3" status=none; }
img() { printf '%s/states/%s/data.img' "$VM_STATE_ROOT" "$1"; }
# CRC and length of a whole image: enough to tell copies apart, and fast on 1 GiB images.
checksum() { cksum <"$1"; }
allocated() { echo $(($(stat -c '%b * %B' "$1"))); }
apparent() { stat -c %s "$1"; }
link_of() { readlink "$VM_STATE_ROOT/$1/data.img"; }
running() { [[ -e $FAKE_SYSTEMCTL_DIR/microvm@$1.service ]]; }
# Records the fake systemctl logged since the last call, then forgets them.
systemctl_calls() {
  cat "$FAKE_SYSTEMCTL_LOG"
  : >"$FAKE_SYSTEMCTL_LOG"
}

# readable_by_all: the test's directory and the root readable by any user (for the tests that run
# read-only commands as nobody), and every directory above them searchable.
readable_by_all() {
  chmod -R a+rX "$BATS_TEST_TMPDIR" "$VM_STATE_ROOT"
  local d
  for d in "$BATS_TEST_TMPDIR" "$VM_STATE_ROOT"; do
    while [[ $d != / ]]; do
      chmod a+x "$d" 2>/dev/null || true
      d=$(dirname "$d")
    done
  done
}

# hold_at PHASE ARGS...: runs vm-state ARGS in the background, in its own process group, with the
# test hook VM_STATE_TEST_PHASE=PHASE, and waits until it is there; it stays there until
# release_held (or until it is killed). Its pid is HELD_PID; its stdout and stderr are in
# $BATS_TEST_TMPDIR/held.out and held.err.
hold_at() {
  local phase=$1 mark=$BATS_TEST_TMPDIR/phase-reached _
  shift
  rm -f "$mark" "$BATS_TEST_TMPDIR/phase-resume"
  VM_STATE_TEST_PHASE=$phase VM_STATE_TEST_PHASE_FILE=$mark VM_STATE_TEST_PHASE_RESUME=$BATS_TEST_TMPDIR/phase-resume \
    setsid "$VM_STATE" "$@" <&0 >"$BATS_TEST_TMPDIR/held.out" 2>"$BATS_TEST_TMPDIR/held.err" &
  HELD_PID=$!
  for _ in $(seq 600); do
    [ -s "$mark" ] && return 0
    kill -0 "$HELD_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "vm-state $* never reached phase $phase:" >&2
  cat "$BATS_TEST_TMPDIR/held.err" >&2
  kill -KILL -- "-$HELD_PID" 2>/dev/null || true
  return 1
}
# release_held: lets the held run go on and waits for it; its exit status in HELD_STATUS.
# shellcheck disable=SC2034 # HELD_STATUS is the tests'
release_held() {
  touch "$BATS_TEST_TMPDIR/phase-resume"
  HELD_STATUS=0
  wait "$HELD_PID" || HELD_STATUS=$?
}

# stop_at PHASE ARGS...: hold_at, then SIGKILL for vm-state's whole process group, as a crash or a
# power loss would.
stop_at() {
  hold_at "$@" || return 1
  kill -KILL -- "-$HELD_PID"
  wait "$HELD_PID" || true
}

# mount_fs TYPE SIZE_MIB DIR [MKFS OPTIONS...]: a filesystem of that size in a file, loop-mounted
# at DIR for this test only (unmount_all in teardown).
mount_fs() {
  local type=$1 size=$2 dir=$3
  shift 3
  require_root
  require_tools "mkfs.$type" mount umount losetup
  mkdir -p "$dir"
  truncate -s "${size}M" "$dir.img"
  "mkfs.$type" -q "$@" "$dir.img" >/dev/null
  mount -o loop "$dir.img" "$dir"
  echo "$dir" >>"$BATS_TEST_TMPDIR/mounts"
}
unmount_all() {
  [ -f "$BATS_TEST_TMPDIR/mounts" ] || return 0
  local dir
  while IFS= read -r dir; do
    umount "$dir" 2>/dev/null || umount -l "$dir" || true
    rm -f "$dir.img"
  done < <(tac "$BATS_TEST_TMPDIR/mounts")
  rm -f "$BATS_TEST_TMPDIR/mounts"
}
