#!/usr/bin/env bats
# The fleet, for real: two hosts (main, big), each its own vm-state root and infra.json with a
# .fleet, and a real sshd on 127.0.0.1 and a port of its own, whose authorized_keys runs only
# `vm-state fleet-serve` for the fleet's transfer key (fleet.bash). The files backend (xfs when
# the suite runs on XFS); the VMs are the fake systemctl's units, one log for both hosts.

load helpers
load fleet

setup() {
  setup_vm_state
  fleet_setup files
}
teardown() {
  stop_sshds
  unmount_all
}

@test "a move: copied while it runs, the source stopped only for the catch-up, byte for byte, started on the target last" {
  web_on_main "first data"
  pause_at copied big fleet-pull web --from main --slot slot3 --json
  # The catch-up writes into this first copy (rsync --inplace): the same file becomes the state.
  local first_inode
  first_inode=$(stat -c %i "$(host_root big)/states/.fleet-in-web/data.img")
  # The first copy is done and nothing stopped: the VM still runs on main, and big has no state.
  host_running main slot1
  [ ! -s "$FAKE_SYSTEMCTL_LOG" ]
  [ -z "$(states_on big)" ]
  [[ $(on big list --all --json 2>/dev/null | jq -r '.hidden[].was') == "web (arriving from main: copied)" ]]
  # The VM writes on: the catch-up must carry it.
  put_text "$(host_img main web)" $((512 * MiB)) "written while the first copy ran"
  local source_sum
  source_sum=$(checksum "$(host_img main web)")
  resume_run
  cat "$BATS_TEST_TMPDIR/paused.err"
  [ "$PAUSED_STATUS" -eq 0 ]

  # Byte for byte: the state on big, the hidden copy main keeps, and what main held when it stopped.
  cmp "$(host_img big web)" "$(hidden_copy)/data.img"
  [ "$(checksum "$(host_img big web)")" = "$source_sum" ]
  [ "$(get_text "$(host_img big web)" $((512 * MiB)) 32)" = "written while the first copy ran" ]
  [ "$(allocated "$(host_img big web)")" -lt $((256 * MiB)) ] # still sparse (1 GiB apparent)
  [ "$(stat -c %i "$(host_img big web)")" = "$first_inode" ]  # no second copy was made
  # main stopped slot1 once, then big started slot3, on the complete copy; nothing started on main.
  [ "$(grep -c 'microvm@slot1' "$FAKE_SYSTEMCTL_LOG")" -eq 1 ]
  [ "$(line_of 'stop microvm@slot1.service')" -lt "$(line_of 'start microvm@slot3.service')" ]
  [ "$(grep '^disk microvm@slot3' "$FAKE_SYSTEMCTL_LOG")" = "disk microvm@slot3.service $source_sum" ]
  host_running big slot3
  run ! host_running main slot1
  # What it says: which state, from where, the bytes, how long the VM was stopped.
  local json
  json=$(cat "$BATS_TEST_TMPDIR/paused.out")
  [ "$(jq -r '[.state, .from, .to, .slot, .sourceSlot] | join(" ")' <<<"$json")" = "web main big slot3 slot1" ]
  # The first copy carried the 8 MiB of data; the catch-up only the block written since (a delta).
  [ "$(jq -r '.bytesWhileRunning > 8388608 and .bytesWhileStopped > 0 and .bytesWhileStopped < 1048576 and .stoppedMs > 0' <<<"$json")" = true ]
  grep -q "moved state web from main to big: .* sent while it ran, .* after it stopped; slot1 on main was stopped for [0-9.]* s; slot3 runs it now" "$BATS_TEST_TMPDIR/paused.err"
  # main: the state is gone from every listing, its name is free, the copy kept hidden.
  [ -z "$(states_on main)" ]
  [ "$(on main status --json 2>/dev/null | jq -r '.slots[0].state')" = null ]
  [[ $(on main list --all 2>/dev/null) == *"web (moved to big; vm-state gc --fleet-moved removes it)"* ]]
  run on main create web --size-gib 1
  [ "$status" -eq 0 ]
  on main delete --yes web 2>/dev/null

  # Again: a no-op.
  : >"$FAKE_SYSTEMCTL_LOG"
  run on big fleet-pull web --from main --slot slot3
  [ "$status" -eq 0 ]
  [[ $output == *"state web is already on big"* ]]
  [ ! -s "$FAKE_SYSTEMCTL_LOG" ]
  # gc --fleet-moved removes the hidden copy: of the states named (what the deploy runs for a
  # state with onRemove: destroy), or of every one.
  run on main gc web
  [ "$status" -eq 2 ]
  run on main gc --fleet-moved other
  [ "$status" -eq 0 ]
  [ -n "$(hidden_copy)" ]
  run on main gc --fleet-moved web
  [ "$status" -eq 0 ]
  [ -z "$(hidden_copy)" ]
  [ ! -e "$(host_root main)/states/.moved/web"* ]
}

@test "a move killed mid-stream leaves the source running and untouched; the next run copies again and finishes" {
  web_on_main
  local sum
  sum=$(checksum "$(host_img main web)")
  kill_at copying big fleet-pull web --from main --slot slot3
  host_running main slot1
  [ "$(checksum "$(host_img main web)")" = "$sum" ]
  [ "$(states_on main)" = web ]
  [ -z "$(states_on big)" ]
  [[ $(on big list --all --json 2>/dev/null | jq -r '.hidden[].was') == "web (arriving from main: copying)" ]]
  [ ! -s "$FAKE_SYSTEMCTL_LOG" ]

  run --separate-stderr on big fleet-pull web --from main --slot slot3 --json
  [ "$status" -eq 0 ]
  [ "$(jq -r .resumed <<<"$output")" = true ]
  [ "$(checksum "$(host_img big web)")" = "$sum" ]
  [ "$(line_of 'stop microvm@slot1.service')" -lt "$(line_of 'start microvm@slot3.service')" ]
  [ "$(on big list --all --json 2>/dev/null | jq -c .hidden)" = '[]' ]
}

@test "a move killed after the source stopped is finished by the next run; --abort instead starts it on the source again" {
  web_on_main
  local sum
  sum=$(checksum "$(host_img main web)")
  kill_at released big fleet-pull web --from main --slot slot3
  # main stopped slot1 and took its disk away: nothing starts it there while the move is open.
  run ! host_running main slot1
  [ "$(on main status --json 2>/dev/null | jq -r '.slots[0].state')" = null ]
  [ "$(on main list --json 2>/dev/null | jq -r '.states[0].name')" = web ]
  run on main assign slot1 web
  [ "$status" -eq 4 ]
  [[ $output == *"state web is being moved to big (vm-state fleet-cancel web keeps it here)"* ]]
  run on main delete --yes web
  [ "$status" -eq 4 ]

  # --abort: the move is rolled back on both ends; slot1 runs web again, intact.
  run on big fleet-pull web --from main --abort
  [ "$status" -eq 0 ]
  [[ $output == *"the move of web from main is rolled back"* ]]
  host_running main slot1
  [ "$(readlink "$(host_root main)/slot1/data.img")" = "$(host_img main web)" ]
  [ "$(checksum "$(host_img main web)")" = "$sum" ]
  [ "$(on big list --all --json 2>/dev/null | jq -c .hidden)" = '[]' ]
  [ -z "$(states_on big)" ]

  # Killed there again, the next run finishes the move.
  kill_at released big fleet-pull web --from main --slot slot3
  run --separate-stderr on big fleet-pull web --from main --slot slot3 --json
  [ "$status" -eq 0 ]
  [ "$(checksum "$(host_img big web)")" = "$sum" ]
  [ "$(jq -r '.resumed and .stoppedMs > 0' <<<"$output")" = true ]
  host_running big slot3
  run ! host_running main slot1
}

@test "a catch-up that fails starts the state on the source again, intact" {
  web_on_main
  local sum
  sum=$(checksum "$(host_img main web)")
  pause_at released big fleet-pull web --from main --slot slot3
  run ! host_running main slot1
  rm "$(host_root big)/states/.fleet-in-web/data.img" # the target loses its first copy
  resume_run
  [ "$PAUSED_STATUS" -eq 1 ]
  grep -q "no first copy of web here to catch up" "$BATS_TEST_TMPDIR/paused.err"
  grep -q "the move of web from main is undone: it runs on main again" "$BATS_TEST_TMPDIR/paused.err"
  host_running main slot1
  [ "$(checksum "$(host_img main web)")" = "$sum" ]
  [ "$(on big list --all --json 2>/dev/null | jq -c .hidden)" = '[]' ]
  run ! grep -q 'microvm@slot3' "$FAKE_SYSTEMCTL_LOG"
}

@test "a second move of a state while one is in flight is refused, naming it" {
  web_on_main
  pause_at copied big fleet-pull web --from main --slot slot3
  run on big fleet-pull web --from main
  [ "$status" -eq 3 ]
  [[ $output == *"busy: a move of state web into big is in flight"* ]]
  run on big create web --size-gib 1
  [ "$status" -eq 4 ]
  [[ $output == *"state web is arriving from main (vm-state fleet-pull; --abort rolls it back)"* ]]
  run on third fleet-pull web --from main
  [ "$status" -eq 4 ]
  [[ $output == *"state web is being moved from main to big; a state moves to one host at a time"* ]]
  resume_run
  [ "$PAUSED_STATUS" -eq 0 ]
  [ "$(states_on big)" = web ]
  [ -z "$(states_on third)" ]
}

@test "fleet-pull refuses what it cannot do before anything moves" {
  web_on_main
  run on big fleet-pull web --from nowhere
  [ "$status" -eq 4 ]
  [[ $output == *"unknown host 'nowhere': the fleet's hosts are main big third far"* ]]
  run on big fleet-pull web --from big
  [ "$status" -eq 2 ]
  run on big fleet-pull web
  [ "$status" -eq 2 ]
  [[ $output == *"fleet-pull needs --from HOST"* ]]
  run on big fleet-pull ../web --from main
  [ "$status" -eq 2 ]
  run on big fleet-pull web --from main --slot slot1
  [ "$status" -eq 4 ]
  [[ $output == *"unknown slot 'slot1'"* ]]
  run on big fleet-pull nosuch --from main
  [ "$status" -eq 4 ]
  [[ $output == *"main has no state 'nosuch'"* ]]
  on big create web --size-gib 1 2>/dev/null
  run on big fleet-pull web --from main
  [ "$status" -eq 4 ]
  [[ $output == *"state web exists both here and on main; nothing was moved"* ]]
  jq 'del(.fleet)' "$FLEET/big/infra.json" >"$FLEET/big/one-host.json"
  run on big VM_STATE_CONFIG="$FLEET/big/one-host.json" fleet-pull web --from main
  [ "$status" -eq 4 ]
  [[ $output == *"has no .fleet: this host is not part of a fleet"* ]]
  host_running main slot1
  [ ! -s "$FAKE_SYSTEMCTL_LOG" ]
}

@test "fleet-serve runs only its operations, checks every argument, and logs what it refuses" {
  run fleet_ssh main status
  [ "$status" -eq 0 ]
  [ "$(jq -c . <<<"$output")" = "{\"host\":\"main\",\"backend\":\"$FLEET_TEST_BACKEND\"}" ]
  local request
  for request in 'rm -rf /' 'status web; id' 'status $(id)' 'send-snapshot ../etc big' 'send-snapshot /etc/passwd big' \
    'status  web' 'status Web' $'status web\nid' 'status web*'; do
    run fleet_ssh main "$request"
    [ "$status" -eq 2 ] || { echo "'$request' gave $status: $output"; return 1; }
    [[ $output == *"vm-state: fleet-serve refused '"*"': a request is an operation and names separated by single spaces; allowed: status send-snapshot"* ]]
  done
  run fleet_ssh main bash -i
  [ "$status" -eq 2 ]
  [[ $output == *"fleet-serve refused 'bash -i': unknown operation"* ]]
  run fleet_ssh main send-snapshot -web big
  [ "$status" -eq 2 ]
  [[ $output == *"invalid state name '-web'"* ]]
  run fleet_ssh main status web extra
  [ "$status" -eq 2 ]
  [[ $output == *"expected 1 argument(s), got 2"* ]]
  run fleet_ssh main send-snapshot web main
  [ "$status" -eq 2 ]
  [[ $output == *"main is not another host of the fleet"* ]]
  run fleet_ssh main receive-replica web far _replica-main-20250101-000000
  [ "$status" -eq 2 ]
  [[ $output == *"far's address is 10.255.255.1, this connection comes from 127.0.0.1"* ]]
  run fleet_ssh main prune-replica web big hourly=1 yearly=3
  [ "$status" -eq 2 ]
  run fleet_ssh main send-resume web big 'notatoken'
  [ "$status" -eq 2 ]
  # No shell, no forwarding (restrict).
  run fleet_ssh main
  [ "$status" -eq 2 ]
  [[ $output == *"fleet-serve refused no request (this key runs vm-state fleet operations only, no shell)"* ]]
  run fleet_ssh -W 127.0.0.1:22 main
  [ "$status" -ne 0 ]
  [[ $output == *"stdio forwarding failed"* ]]
  # Nothing happened, and every refusal is in the log with the address it came from.
  [ -z "$(ls -A "$(host_root main)/states" 2>/dev/null)" ]
  [ "$(grep -c ' 127.0.0.1 refused: ' "$(host_root main)/.vm-state-fleet/fleet.log")" -ge 16 ]
  grep -q "127.0.0.1 refused: 'rm -rf /'" "$(host_root main)/.vm-state-fleet/fleet.log"
}

# An rsync client's request as rsync 3.5.0 sends it for our flags (fleet/rsync.ts rsyncFlags).
RSYNC_SEND='rsync --server --sender -ISze.LsfxCIvu --inplace .'
RSYNC_RECEIVE='rsync --server -ISze.LsfxCIvu --max-size=17592186044416 --inplace .'

@test "fleet-serve hands rsync only the transfer in progress with the connecting host; none, another path or another state is refused" {
  web_on_main
  fleet_state main db "" "data of db"
  local sum
  sum=$(checksum "$(host_img main web)")
  # No move, no replica announced: nothing to read or write.
  run fleet_ssh main "$RSYNC_SEND web/data.img"
  [ "$status" -eq 4 ]
  [[ $output == *"no move of state web is in progress here (it starts with send-snapshot)"* ]]
  run fleet_ssh big "$RSYNC_RECEIVE web/_replica-big-20250101-000000"
  [ "$status" -eq 4 ]
  [[ $output == *"no copy _replica-big-20250101-000000 of web is announced here (it starts with receive-replica)"* ]]
  # A real rsync client gets nothing either.
  run rsync -e "$(fleet_rsh)" main:web/data.img "$BATS_TEST_TMPDIR/got.img"
  [ "$status" -ne 0 ]
  [ ! -e "$BATS_TEST_TMPDIR/got.img" ]
  # While web moves to big: paths other than the one image, and other states, are refused here.
  pause_at copied big fleet-pull web --from main
  local request
  for request in "$RSYNC_SEND /etc/shadow" "$RSYNC_SEND web/../db/data.img" "$RSYNC_SEND web" "$RSYNC_SEND web/data.img db/data.img" \
    "$RSYNC_SEND 'web/data.img'" "$RSYNC_SEND web/data.img;id" "$RSYNC_SEND web/{data.img,x}"; do
    run fleet_ssh main "$request"
    [ "$status" -eq 2 ] || { echo "'$request' gave $status: $output"; return 1; }
    [[ $output == *"vm-state: fleet-serve refused '"* ]]
  done
  run fleet_ssh main "$RSYNC_SEND db/data.img"
  [ "$status" -eq 4 ]
  [[ $output == *"no move of state db is in progress here"* ]]
  resume_run
  [ "$PAUSED_STATUS" -eq 0 ]
  [ "$(checksum "$(host_img big web)")" = "$sum" ]
  grep -q "127.0.0.1 request: $RSYNC_SEND web/data.img" "$(host_root main)/.vm-state-fleet/fleet.log"
}

@test "rrsync confines the transfer: no write to a move's send, no read of a replica's receive, no option it does not allow, no .. in an option" {
  web_on_main
  local sum
  sum=$(checksum "$(host_img main web)")
  pause_at copied big fleet-pull web --from main
  # A write to the state being sent (rrsync -ro).
  run fleet_ssh main "${RSYNC_RECEIVE/--max-size=17592186044416 /} web/data.img" </dev/null
  [ "$status" -eq 1 ]
  [[ $output == *"rrsync error: sending to read-only server is not allowed"* ]]
  # Options rrsync refuses (its long_opts -1), and a path out of its directory in an option.
  run fleet_ssh main "rsync --server --sender --copy-devices -ISze.LsfxCIvu . web/data.img" </dev/null
  [ "$status" -eq 1 ]
  [[ $output == *"rrsync error: option --copy-devices has been disabled on this server."* ]]
  run fleet_ssh main "rsync --server --sender -ISze.LsfxCIvu --files-from=.. . web/data.img" </dev/null
  [ "$status" -eq 1 ]
  [[ $output == *"rrsync error: do not use .. in --files-from"* ]]
  resume_run
  [ "$PAUSED_STATUS" -eq 0 ]
  [ "$(checksum "$(host_img big web)")" = "$sum" ]
  # A replica's receive is write-only (rrsync -wo): its announced copy cannot be read back.
  fleet_state main db slot2 "data of db"
  pause_at replicating main replicate db --to big
  local snap
  snap=$(jq -r '.receiving' "$(host_root big)/.vm-state-fleet/replicas/db.json")
  [[ $snap == _replica-big-* ]]
  run fleet_ssh big "$RSYNC_SEND db/$snap" </dev/null
  [ "$status" -eq 1 ]
  [[ $output == *"rrsync error: reading from write-only server is not allowed"* ]]
  resume_run
  [ "$PAUSED_STATUS" -eq 0 ]
  cmp "$(host_img main db)" "$(host_root big)/states/.replicas/db/$snap.img"
}

@test "fleet-serve not run by sshd (no SSH_CLIENT) refuses with exit 2, saying so, and logs it" {
  web_on_main
  unset SSH_CLIENT
  run on main SSH_ORIGINAL_COMMAND=status fleet-serve
  [ "$status" -eq 2 ] || { echo "$output"; return 1; }
  [[ $output == *"vm-state: fleet-serve refused 'status': the request did not come over SSH (no \$SSH_CLIENT)"* ]]
  [[ $output != *"unbound variable"* ]]
  run on main fleet-serve
  [ "$status" -eq 2 ]
  [[ $output == *"vm-state: fleet-serve refused (no request): the request did not come over SSH"* ]]
  # Empty is the same as unset: no address to check a peer against, so nothing runs.
  run on main SSH_CLIENT= SSH_ORIGINAL_COMMAND='stop-and-release web big' fleet-serve
  [ "$status" -eq 2 ]
  [[ $output == *"fleet-serve refused 'stop-and-release web big': the request did not come over SSH"* ]]
  host_running main slot1
  [ ! -s "$FAKE_SYSTEMCTL_LOG" ]
  [ "$(grep -c ' - refused: ' "$(host_root main)/.vm-state-fleet/fleet.log")" -eq 3 ]
}

@test "a move record that cannot be written (a full disk) stops fleet-pull with vm-state's message, no temporary file left" {
  require_tools mount umount
  web_on_main
  local in
  in=$(host_root big)/.vm-state-fleet/in
  mkdir -p "$in"
  mount -t tmpfs -o size=64k tmpfs "$in"
  echo "$in" >>"$BATS_TEST_TMPDIR/mounts"
  dd if=/dev/zero of="$in/filler" bs=4k status=none 2>/dev/null || true
  run on big fleet-pull web --from main --slot slot3
  [ "$status" -eq 1 ] || { echo "$output"; return 1; }
  [[ $output == *"vm-state: cannot write the record $in/web.json: "*"No space left on device"* ]]
  [ "$(ls -A "$in")" = filler ]
  # Nothing moved: the state runs on main, big has none.
  host_running main slot1
  [ -z "$(states_on big)" ]
}

@test "replicate: a full sparse copy kept hidden on the target, pruned per keep, never a state until promoted" {
  web_on_main "version 1"
  run --separate-stderr on main replicate web --to big --json
  [ "$status" -eq 0 ]
  local first
  first=$(jq -r .snapshot <<<"$output")
  [[ $first =~ ^_replica-big-[0-9]{8}-[0-9]{6}(-[0-9]+)?$ ]]
  [ "$(jq -c .keep <<<"$output")" = '{"hourly":24,"daily":7,"weekly":0,"monthly":0}' ] # from .fleet.replicas
  [ "$(jq -r '.bytes > 8388608 and .incrementalFrom == null' <<<"$output")" = true ]
  # The VM was paused for the frozen copy, not stopped; big holds it hidden.
  [ "$(cat "$FLEET/main/ch-remote.log")" = "pause slot1
resume slot1" ]
  [ ! -s "$FAKE_SYSTEMCTL_LOG" ]
  [ -z "$(states_on big)" ]
  [[ $(on big list --all --json 2>/dev/null | jq -r '.hidden[].was') == "replica of web from main (1 snapshots; vm-state replica-promote web makes it a state)" ]]
  cmp "$(host_img main web)" "$(host_root big)/states/.replicas/web/$first.img"

  # Again, changed: the newest copy replaces the older one in this hour (keep hourly=24, daily=7).
  put_text "$(host_img main web)" $((512 * MiB)) "version 2"
  run --separate-stderr on main replicate web --to big --json
  [ "$status" -eq 0 ]
  local second
  second=$(jq -r .snapshot <<<"$output")
  [ "$second" != "$first" ]
  # The two copies' hours (YYYYmmdd-HH of their names): on a busy machine the two runs may
  # straddle an hour, and then each is the newest of its hour and both stay.
  local hour1=${first#_replica-big-} hour2=${second#_replica-big-}
  if [[ ${hour1:0:11} == "${hour2:0:11}" ]]; then
    [ "$(jq -c .pruned <<<"$output")" = "[\"$first\"]" ]
  else
    [ "$(jq -c .pruned <<<"$output")" = "[]" ]
    [ "$(ls "$(host_root big)/states/.replicas/web" | tr '\n' ' ')" = "$first.img $second.img " ]
    rm "$(host_root big)/states/.replicas/web/$first.img" # as if the same hour, for what follows
  fi
  [ "$(ls "$(host_root big)/states/.replicas/web")" = "$second.img" ]
  cmp "$(host_img main web)" "$(host_root big)/states/.replicas/web/$second.img"
  # On xfs the target seeds the new copy with a reflink of the newest: rsync sends the delta.
  if [[ $TEST_BACKEND == xfs ]]; then [ "$(jq -r '.bytes < 1048576' <<<"$output")" = true ]; fi

  # Retention by hours and days, as sanoid counts: the newest copy of each of the last N hours
  # (days) that have one; the newest copy always.
  local d t
  d=$(host_root big)/states/.replicas/web
  for t in 20250101-010000 20250101-013000 20250101-020000 20250102-120000 20250103-090000 20250103-100000; do
    cp --sparse=always "$d/$second.img" "$d/_replica-big-$t.img"
  done
  run --separate-stderr fleet_ssh big prune-replica web main hourly=3 daily=3
  [ "$status" -eq 0 ]
  [ "$(jq -c .pruned <<<"$output")" = '["_replica-big-20250101-010000","_replica-big-20250101-013000","_replica-big-20250101-020000"]' ]
  [ "$(ls "$d" | tr '\n' ' ')" = "_replica-big-20250102-120000.img _replica-big-20250103-090000.img _replica-big-20250103-100000.img $second.img " ]

  # Promote: the newest copy is the state web on big, the older ones its snapshots.
  put_text "$(host_img main web)" $((512 * MiB)) "version 3" # lost with main: never replicated
  run on big replica-promote web
  [ "$status" -eq 0 ]
  [[ $output == *"the replica of web from main is now the state web here"* ]]
  [ "$(states_on big)" = web ]
  [ "$(get_text "$(host_img big web)" $((512 * MiB)) 9)" = "version 2" ]
  [ "$(on big snapshots web --json 2>/dev/null | jq -r '[.snapshots[].name] | sort | join(" ")')" = "replica-20250102-120000 replica-20250103-090000 replica-20250103-100000" ]
  [ "$(on big list --all --json 2>/dev/null | jq -c .hidden)" = '[]' ]
  run on big assign slot3 web
  [ "$status" -eq 0 ]
}

@test "replicate refuses a host that holds the replica from another host, and a second run at once" {
  web_on_main
  on main replicate web --to big 2>/dev/null
  fleet_state third web "" "third's web"
  run on third replicate web --to big
  [ "$status" -eq 4 ]
  [[ $output == *"big: big holds a replica of web from main, not from third"* || $output == *"big holds a replica of web from main, not from third"* ]]
  run on main replicate web --to nowhere
  [ "$status" -eq 4 ]
  run on main replicate web --to big --keep-daily x
  [ "$status" -eq 2 ]
  pause_at replicating main replicate web --to big
  run on main replicate web --to big
  [ "$status" -eq 3 ]
  [[ $output == *"busy: a replication of state web is in flight"* ]]
  resume_run
  [ "$PAUSED_STATUS" -eq 0 ]
}

# What the deploy runs on a state's host (components/deploy/remote/place-state.sh): fleet-pull
# --from-any, with vm-state as HOST sees it.
place() { # HOST STATE
  local host=$1 wrapper=$BATS_TEST_TMPDIR/vm-state-on-$1 words=()
  mapfile -t words < <(host_env_words "$host")
  printf '#!/usr/bin/env bash\nexec env %s %q "$@"\n' "$(printf '%q ' "${words[@]}")" "$VM_STATE" >"$wrapper"
  chmod +x "$wrapper"
  MICROVM_INFRA_VM_STATE=$wrapper bash "$BATS_TEST_DIRNAME/../../../components/deploy/remote/place-state.sh" "$2" "$host"
}
# only_hosts HOST NAME...: HOST's .fleet lists just the hosts NAME... (placement asks every
# other host, and the suite's `far` must never be dialled).
only_hosts() {
  local host=$1 file=$FLEET/$1/infra.json
  shift
  jq '.fleet.hosts |= map(select(.name as $n | $ARGS.positional | index($n)))' --args "$@" <"$file" >"$file.new"
  mv "$file.new" "$file"
}

@test "the deploy's placement: pulls a state from whichever host holds it; nothing when it is here or nowhere yet" {
  web_on_main "placed data"
  only_hosts big main big
  local sum
  sum=$(checksum "$(host_img main web)")
  # Nowhere yet (a new state): nothing moves, nothing fails; VmState creates it next.
  run place big fresh
  [ "$status" -eq 0 ]
  [[ $output == *"state fresh is on no host of the fleet yet; nothing to move"* ]]
  # On main: pulled to big, byte for byte.
  run place big web
  [ "$status" -eq 0 ]
  [[ $output == *"state web is on main; pulling it here"* ]]
  [ "$(checksum "$(host_img big web)")" = "$sum" ]
  [ -z "$(states_on main)" ]
  # Here already: nothing moves, the source is not even asked again.
  : >"$FAKE_SYSTEMCTL_LOG"
  run place big web
  [ "$status" -eq 0 ]
  [[ $output == *"state web is here already; nothing to move"* ]]
  [ ! -s "$FAKE_SYSTEMCTL_LOG" ]
}

@test "the placement never pulls over a state that exists on its host, even if another host holds one of that name" {
  fleet_state main twin "" "on main"
  fleet_state big twin "" "on big"
  only_hosts big main big
  run place big twin
  [ "$status" -eq 0 ]
  [[ $output == *"state twin is here already; nothing to move"* ]]
  [ "$(get_text "$(host_img big twin)" $((512 * MiB)) 6)" = "on big" ]
  [ "$(get_text "$(host_img main twin)" $((512 * MiB)) 7)" = "on main" ]
}

@test "the placement refuses when a host of the fleet cannot be asked, or two hold the state: it would guess" {
  web_on_main "still here"
  # third has no sshd: it might hold web too, so nothing moves.
  only_hosts big main big third
  run place big web
  [ "$status" -ne 0 ]
  [[ $output == *"third"* ]] # cannot reach it (or, with an sshd on port 22, not verify it)
  [ -z "$(states_on big)" ]
  host_running main slot1
  # Two holders: which copy is meant is the user's call.
  start_sshd third
  fleet_state third web "" "third's web"
  run place big web
  [ "$status" -eq 4 ]
  [[ $output == *"state web is on several hosts (main third); pull it from one explicitly (vm-state fleet-pull web --from HOST)"* ]]
  [ -z "$(states_on big)" ]
}

@test "fleet-cancel on the source undoes a move cut after the source stopped: its slot gets its disk back and runs again" {
  web_on_main
  kill_at released big fleet-pull web --from main --slot slot3
  run ! host_running main slot1
  run on main fleet-cancel web
  [ "$status" -eq 0 ]
  [[ $output == *"the move of web was cancelled; it stays here on slot1"* ]]
  host_running main slot1
  [ "$(readlink "$(host_root main)/slot1/data.img")" = "$(host_img main web)" ]
  run on main fleet-cancel web
  [ "$status" -eq 4 ]
  [[ $output == *"no move of state web out of main is in progress"* ]]
  run on big fleet-pull web --from main --abort
  [ "$status" -eq 0 ]
  [ -z "$(states_on big)" ]
}
