#!/usr/bin/env bats
# What the bash vm-state got wrong in the fleet (issue 19, "What the current implementation gets
# wrong"): each test here failed against the bash fleet commands and passes against vm-state in
# TypeScript. The same two hosts as fleet.bats (fleet.bash: a real sshd each, the files backend,
# xfs in the XFS run).

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

@test "the fleet's host names follow the program's rule: at most 12 characters, never 'states'" {
  local name
  for name in states a-very-long-h; do
    jq --arg n "$name" '.fleet.hosts[3].name = $n' "$FLEET/big/infra.json" >"$FLEET/big/bad.json"
    run on big VM_STATE_CONFIG="$FLEET/big/bad.json" fleet-pull web --from main
    [ "$status" -eq 1 ]
    [[ $output == *"$FLEET/big/bad.json: .fleet.hosts[3].name: host name"* ]]
  done
}
