#!/usr/bin/env bats
# What the bash vm-state got wrong in the fleet (issue 19, "What the current implementation gets
# wrong"): each test here failed against the bash fleet commands and passes against vm-state in
# TypeScript. The same two hosts as fleet.bats (fleet.bash: a real sshd each, the files backend,
# xfs in the XFS run); a hostile host is main's sshd running fakes/hostile-fleet-serve.

load helpers
load fleet

setup() {
  setup_vm_state
  fleet_setup files
  OUTSIDE=$BATS_TEST_TMPDIR/outside
  mkdir -p "$OUTSIDE"
}
teardown() {
  stop_sshds
  unmount_all
}

# relative_to DIR PATH: PATH as seen from DIR ("../../x").
relative_to() { realpath -m --relative-to="$1" "$2"; }

# Every block or character device, FIFO, socket or link under DIR but the slots' disk links.
specials_under() { find "$1" \( -type b -o -type c -o -type p -o -type s -o -type l \) -not -path '*/slot[0-9]*/data.img' -print; }
no_escapes() { [[ $1 != *$'\e'* && $1 != *$'\a'* ]]; }

# hostile_main MODE KIND: main's sshd now runs the hostile fleet-serve, sending data.img as KIND
# (char, block, fifo, link, huge: a 4 EiB sparse file, on a tmpfs) in MODE (rsync, stray, garbage).
hostile_main() {
  local mode=$1 kind=$2 served=$FLEET/hostile/served
  mkdir -p "$served"
  echo "$mode" >"$FLEET/hostile/mode" # before its sshd starts: start_sshd waits for a status answer
  if [[ ! -d $FLEET/hostile-bin ]]; then
    mkdir -p "$FLEET/hostile-bin"
    ln -s "$FAKES/hostile-fleet-serve" "$FLEET/hostile-bin/vm-state"
    mount -t tmpfs -o size=16m tmpfs "$served"
    echo "$served" >>"$BATS_TEST_TMPDIR/mounts"
    stop_sshd main
    start_sshd main "$FLEET/hostile-bin"
  fi
  rm -f "$served/data.img"
  case $kind in
    char) mknod "$served/data.img" c 1 3 ;;
    block) mknod "$served/data.img" b 7 0 ;;
    fifo) mkfifo "$served/data.img" ;;
    link) ln -s /etc/shadow "$served/data.img" ;;
    huge) truncate -s 4E "$served/data.img" ;;
  esac
}
# What a refused pull leaves on big is removed by hand (the hostile host refuses to undo anything).
forget_pull() { rm -rf "$(host_root big)/states/.fleet-in-web" "$(host_root big)/.vm-state-fleet/in/web.json"; }

# big's states on an ext4 of their own, with room for SPARE MiB more than web's image allocates.
small_target() { # SPARE_MIB
  local alloc_mib size states=$(host_root big)/states
  alloc_mib=$(($(allocated "$(host_img main web)") / MiB + 1))
  size=$((alloc_mib + $1 + 12)) # ext4's own metadata on a small filesystem takes about 10 MiB
  mount_fs ext4 "$size" "$states" -m 0
}
free_mib() { echo $(($(df --output=avail -B1M "$1" | tail -1))); }

@test "links out of the root: gc --fleet-moved never deletes through a linked states/.moved, a linked record directory, or a path a record names outside .moved" {
  web_on_main
  on big fleet-pull web --from main 2>/dev/null
  local moved=$(host_root main)/states/.moved records=$(host_root main)/.vm-state-fleet/moved
  [ -n "$(hidden_copy)" ]
  # states/.moved a link to a directory outside the root (that holds the hidden copy now).
  mv "$moved" "$OUTSIDE/moved"
  ln -s "$OUTSIDE/moved" "$moved"
  run on main gc --fleet-moved
  [ "$status" -eq 4 ]
  [[ $output == *"$moved is a symbolic link"* ]]
  [ -n "$(ls -A "$OUTSIDE/moved")" ]
  rm "$moved"
  mv "$OUTSIDE/moved" "$moved"
  # The records' directory a link to one outside, whose record names a directory outside.
  mkdir -p "$OUTSIDE/victim"
  touch "$OUTSIDE/victim/keep"
  mv "$records" "$OUTSIDE/records"
  jq -n --arg h "$moved/$(relative_to "$moved" "$OUTSIDE/victim")" '{to: "big", at: 1, hidden: $h}' >"$OUTSIDE/records/other.json"
  ln -s "$OUTSIDE/records" "$records"
  run on main gc --fleet-moved
  [ "$status" -eq 4 ]
  [[ $output == *"$records is a symbolic link"* ]]
  [ -e "$OUTSIDE/victim/keep" ]
  rm "$records"
  mv "$OUTSIDE/records" "$records"
  # The same record in the real directory: a hidden copy is a name under .moved, nothing else.
  run on main gc --fleet-moved other
  [ "$status" -eq 4 ]
  [[ $output == *"the record $records/other.json names"*"not a copy vm-state hid"* ]]
  [ -e "$OUTSIDE/victim/keep" ]
  rm "$records/other.json"
  run on main gc --fleet-moved
  [ "$status" -eq 0 ]
  [ -z "$(hidden_copy)" ]
}

@test "links out of the root: replica-promote refuses a linked states/.replicas and writes nothing outside" {
  web_on_main
  local big_states=$(host_root big)/states
  on main replicate web --to big 2>/dev/null
  mv "$big_states/.replicas" "$OUTSIDE/replicas"
  ln -s "$OUTSIDE/replicas" "$big_states/.replicas"
  run on big replica-promote web
  [ "$status" -eq 4 ]
  [[ $output == *"$big_states/.replicas is a symbolic link"* ]]
  [ "$(ls "$OUTSIDE/replicas/web" | wc -l)" -eq 1 ]
  [ -z "$(states_on big)" ]
  rm "$big_states/.replicas"
  mv "$OUTSIDE/replicas" "$big_states/.replicas"
  run on big replica-promote web
  [ "$status" -eq 0 ]
  [ "$(states_on big)" = web ]
}

@test "links out of the root: a linked states/.moved on the source stops a move before the state leaves the root; without it, the same pull finishes" {
  web_on_main
  local states=$(host_root main)/states
  mkdir "$OUTSIDE/moved"
  ln -s "$OUTSIDE/moved" "$states/.moved"
  run on big fleet-pull web --from main --slot slot3
  [ "$status" -eq 4 ]
  [[ $output == *"main: "*"$states/.moved is a symbolic link"* ]]
  [ -z "$(ls -A "$OUTSIDE/moved")" ]
  [ -f "$(host_img main web)" ]
  rm "$states/.moved"
  run on big fleet-pull web --from main --slot slot3
  [ "$status" -eq 0 ]
  [ -n "$(hidden_copy)" ]
  host_running big slot3
}

@test "a finish-move killed after it hid the state: fleet-cancel refuses (no slot linked to a missing disk), the next pull records the hidden copy" {
  web_on_main
  kill_at placed big fleet-pull web --from main --slot slot3
  # A finish-move on main killed right after it hid the state, before recording where.
  mkdir -p "$(host_root main)/states/.moved"
  mv "$(host_root main)/states/web" "$(host_root main)/states/.moved/web.20250101000000"
  run on main fleet-cancel web
  [ "$status" -eq 4 ]
  [[ $output == *"the move of web to big is complete there"* ]]
  run ! host_running main slot1
  [ ! -L "$(host_root main)/slot1/data.img" ]
  run on big fleet-pull web --from main --slot slot3
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  host_running big slot3
  [ "$(hidden_copy)" = "$(host_root main)/states/.moved/web.20250101000000" ]
  run on main gc --fleet-moved web
  [ "$status" -eq 0 ]
  [ ! -e "$(host_root main)/states/.moved/web.20250101000000" ]
}

@test "links out of the root: replicate and the catch-up refuse a linked directory under states/ and write nothing outside" {
  web_on_main
  local states=$(host_root main)/states big_states=$(host_root big)/states
  # The source's frozen copies.
  mkdir "$OUTSIDE/fleet-out"
  ln -s "$OUTSIDE/fleet-out" "$states/.fleet-out"
  run on main replicate web --to big
  [ "$status" -eq 4 ]
  [[ $output == *"$states/.fleet-out is a symbolic link"* ]]
  [ -z "$(ls -A "$OUTSIDE/fleet-out")" ]
  rm "$states/.fleet-out"
  # The target's move arriving, swapped for a link after the first copy: refused before the
  # source stops.
  pause_at copied big fleet-pull web --from main --slot slot3
  mv "$big_states/.fleet-in-web" "$OUTSIDE/in"
  ln -s "$OUTSIDE/in" "$big_states/.fleet-in-web"
  local sum
  sum=$(checksum "$OUTSIDE/in/data.img")
  resume_run
  [ "$PAUSED_STATUS" -eq 4 ]
  grep -q "$big_states/.fleet-in-web is a symbolic link" "$BATS_TEST_TMPDIR/paused.err"
  [ "$(checksum "$OUTSIDE/in/data.img")" = "$sum" ]
  [ "$(ls -A "$OUTSIDE/in")" = data.img ]
  host_running main slot1
}

@test "a hostile source: a device node, a FIFO or a link as the image never lands under the puller's root; its stderr reaches the terminal cleaned" {
  local mode kind
  local words=()
  mapfile -t words < <(host_env_words big)
  for mode in rsync stray; do
    for kind in char block fifo link; do
      hostile_main "$mode" "$kind"
      # A device node or a link sent with the sender's own --devices/--links desynchronises the
      # puller's rsync (it has neither): it waits, kept alive, until it is stopped (SIGTERM here,
      # as an operator's Ctrl-C), and what it started goes.
      run timeout -s TERM 30 env "${words[@]}" "$VM_STATE" fleet-pull web --from main
      [ "$status" -ne 0 ] || { echo "$mode $kind: $output"; return 1; }
      [ -z "$(specials_under "$(host_root big)")" ] || { echo "$mode $kind left: $(specials_under "$(host_root big)")"; return 1; }
      no_escapes "$output" || { echo "$mode $kind: escape sequences in: $output"; return 1; }
      # The peer's lines are its own (prefixed with its name), never one of this host's.
      [[ $output == *"vm-state: main: "* ]]
      run ! grep -qx 'vm-state: moved state web from main to big' <<<"$output"
      [ -z "$(states_on big)" ]
      forget_pull
    done
  done
  # An answer that is not vm-state's: said in vm-state's words, no parser's message.
  hostile_main garbage char
  run on big fleet-pull web --from main
  [ "$status" -eq 1 ]
  [[ $output == *"main answered 'status web' with something that is not vm-state's JSON"* ]]
  [[ $output != *"jq:"* && $output != *"SyntaxError"* ]]
  no_escapes "$output"
}

@test "a hostile replica source: a link or a device node pushed as the copy is never kept, and nothing of it stays" {
  local snap=_replica-big-20250101-000000 big_root kind
  big_root=$(host_root big)
  for kind in link char; do
    run fleet_ssh big receive-replica web main "$snap"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [ "$(jq -r .path <<<"$output")" = "web/$snap" ]
    rm -f "$BATS_TEST_TMPDIR/data.img"
    case $kind in
      link) ln -s /etc/shadow "$BATS_TEST_TMPDIR/data.img" ;;
      char) mknod "$BATS_TEST_TMPDIR/data.img" c 1 3 ;;
    esac
    # The source's own rsync with --links and --devices (vm-state never sends them): rrsync -wo
    # munges links and drops devices; whatever arrived is never kept.
    run rsync --links --devices --specials -e "$(fleet_rsh)" "$BATS_TEST_TMPDIR/data.img" "big:web/$snap"
    [ -z "$(find "$big_root" -type b -o -type c -o -type p)" ] || { echo "$kind: $(find "$big_root" -type b -o -type c -o -type p)"; return 1; }
    run fleet_ssh big keep-replica web main "$snap"
    [ "$status" -ne 0 ]
    [[ $output == *"the replica copy $snap is not kept: "* ]] || { echo "$kind: $output"; return 1; }
    [ -z "$(specials_under "$big_root")" ]
    [ ! -e "$big_root/states/.replicas/web/$snap.img" ]
    [ ! -e "$big_root/states/.replicas/web/.tmp-$snap" ]
  done
}

@test "a hostile source: an image larger than the largest state (4 EiB, sparse) is refused, nothing of it kept" {
  # big's states on a tmpfs, where a 4 EiB sparse file can exist (ext4 stops at 16 TiB).
  local big_states=$(host_root big)/states
  mkdir -p "$big_states"
  mount -t tmpfs -o size=64m tmpfs "$big_states"
  echo "$big_states" >>"$BATS_TEST_TMPDIR/mounts"
  if [[ $TEST_BACKEND == xfs ]]; then skip "the target's states are a tmpfs here: the xfs backend refuses it (no reflinks)"; fi
  hostile_main rsync huge
  run on big fleet-pull web --from main
  [ "$status" -ne 0 ]
  [[ $output == *"main sent an image larger than the largest state (16384 GiB)"* ]]
  [ -z "$(find "$big_states" -type f -size +1G)" ]
  [ -z "$(states_on big)" ]
}

@test "a pull killed right after it renamed the state into place: the next run finishes the move; --abort refuses to leave two copies" {
  web_on_main
  local sum
  sum=$(checksum "$(host_img main web)")
  kill_at caught-up big fleet-pull web --from main --slot slot3
  mv "$(host_root big)/states/.fleet-in-web" "$(host_root big)/states/web" # what the killed run did next
  run on big fleet-pull web --from main --abort
  [ "$status" -eq 4 ]
  [[ $output == *"the move of web from main is complete here already"* ]]
  run ! host_running main slot1
  [ -z "$(on main status --json 2>/dev/null | jq -r '.slots[0].state // empty')" ]
  run on big fleet-pull web --from main --slot slot3
  [ "$status" -eq 0 ]
  host_running big slot3
  [ "$(checksum "$(host_img big web)")" = "$sum" ]
  [ -n "$(hidden_copy)" ]
  [ -z "$(states_on main)" ]
  run ! host_running main slot1
}

@test "the catch-up writes into the first copy: a target with room for one copy of the image finishes the move" {
  if [[ $TEST_BACKEND == xfs ]]; then skip "the target's states are a small ext4 here: the xfs backend refuses it (no reflinks)"; fi
  web_on_main
  small_target 8
  pause_at copied big fleet-pull web --from main --slot slot3
  dd if=/dev/urandom of="$(host_img main web)" bs=1M count=2 seek=300 conv=notrunc status=none
  # Room for the image once, not twice: what the first copy holds plus what is free is less
  # than two copies of the image as main allocates it (rsync's copy is sparser still: it leaves
  # out runs of zeros main has allocated).
  local first_mib=$(($(allocated "$(host_root big)/states/.fleet-in-web/data.img") / MiB))
  [ $(($(free_mib "$(host_root big)/states") + first_mib)) -lt $((2 * $(allocated "$(host_img main web)") / MiB)) ]
  resume_run
  [ "$PAUSED_STATUS" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/paused.err"; return 1; }
  [ ! -e "$(host_img main web)" ] # moved: main keeps it hidden only
  cmp "$(host_img big web)" "$(hidden_copy)/data.img"
  host_running big slot3
}

@test "no room for the catch-up: refused before the source stops, the VM runs on; the same pull finishes once there is room" {
  if [[ $TEST_BACKEND == xfs ]]; then skip "the target's states are a small ext4 here: the xfs backend refuses it (no reflinks)"; fi
  web_on_main
  small_target 40
  pause_at copied big fleet-pull web --from main --slot slot3
  # The VM writes 24 MiB more while big has 8 MiB left.
  dd if=/dev/urandom of="$(host_img main web)" bs=1M count=24 seek=600 conv=notrunc status=none
  fallocate -l "$(($(free_mib "$(host_root big)/states") - 8))M" "$(host_root big)/states/filler"
  resume_run
  [ "$PAUSED_STATUS" -eq 1 ]
  grep -q "not enough space in $(host_root big)/states for the catch-up of web" "$BATS_TEST_TMPDIR/paused.err"
  host_running main slot1
  run ! grep -q 'stop microvm@slot1' "$FAKE_SYSTEMCTL_LOG"
  [[ $(on big list --all --json 2>/dev/null | jq -r '.hidden[].was') == "web (arriving from main: copied)" ]]
  rm "$(host_root big)/states/filler"
  run on big fleet-pull web --from main --slot slot3
  [ "$status" -eq 0 ]
  cmp "$(host_img big web)" "$(hidden_copy)/data.img"
}

@test "a replication that fails removes its frozen copy on the source" {
  web_on_main
  mkdir -p "$(host_root big)/states/.replicas"
  : >"$(host_root big)/states/.replicas/web" # a file where big keeps the replica's directory
  run on main replicate web --to big
  [ "$status" -ne 0 ]
  [ ! -e "$(host_root main)/states/.fleet-out/web" ]
  [ "$(cat "$FLEET/main/ch-remote.log")" = "pause slot1
resume slot1" ]
}

@test "a host that answers with another host key was reached: the error says which key, not 'cannot reach'" {
  web_on_main
  local big_key
  big_key=$(cut -d' ' -f1,2 "$FLEET/big/host_key.pub")
  # '|' as the delimiter: a key's base64 may hold '/'.
  sed -i -E "s|^(\[127\.0\.0\.1\]:[0-9]+) .* main\$|\1 $big_key main|" "$FLEET/known_hosts"
  run on big fleet-pull web --from main
  [ "$status" -eq 1 ]
  [[ $output != *"cannot reach"* ]]
  [[ $output == *"main (127.0.0.1) answered, but its SSH host key is not the one pinned in $FLEET/known_hosts"* ]]
  host_running main slot1
}

@test "fleet-pull from a host that does not have the state, on one that has it: says so, not 'moved from'" {
  on big create web --size-gib 1 2>/dev/null
  run on big fleet-pull web --from main
  [ "$status" -eq 0 ]
  [[ $output == *"state web is here already and main has none: nothing to move"* ]]
  [[ $output != *"moved from"* ]]
}

@test "the fleet's host names follow the program's rule: at most 12 characters, never 'states'" {
  local name
  for name in states a-very-long-h; do
    jq --arg n "$name" '.fleet.hosts[3].name = $n' "$FLEET/big/infra.json" >"$FLEET/big/bad.json"
    run on big VM_STATE_CONFIG="$FLEET/big/bad.json" fleet-pull web --from main
    [ "$status" -eq 1 ]
    [[ $output == *"$FLEET/big/bad.json: .fleet.hosts[3].name: host name"* ]]
  done
}
