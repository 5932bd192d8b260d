#!/usr/bin/env bats
# What status, list and snapshots print: the JSON shape for machines, tables for people.

load helpers

setup() {
  setup_vm_state
  make_state web
  make_state db
  vm snapshot web v1 2>/dev/null
  vm assign slot2 web 2>/dev/null
}

@test "status --json: backend, every slot with state/running/unit/system, every state with size and snapshots" {
  run --separate-stderr vm status --json
  [ "$status" -eq 0 ]
  jq -e --arg backend "$TEST_BACKEND" '
    (keys == ["backend", "slots", "states"]) and .backend == $backend
    and .slots == [
      {name: "slot1", state: null, running: false, unit: "microvm@slot1.service", system: null},
      {name: "slot2", state: "web", running: true, unit: "microvm@slot2.service", system: null},
      {name: "slot3", state: null, running: false, unit: "microvm@slot3.service", system: null}]
    and ([.states[].name] == ["db", "web"])
    and (.states[] | select(.name == "web")
         | .slot == "slot2" and .sizeBytes == 1073741824 and (.allocatedBytes | type) == "number"
           and (.snapshots | length) == 1 and .snapshots[0].name == "v1"
           and (.snapshots[0].created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")))
    and (.states[] | select(.name == "db") | .slot == null and .snapshots == [])' <<<"$output"
}

@test "list --json holds the same state records as status --json" {
  run --separate-stderr vm list --json
  [ "$status" -eq 0 ]
  local list=$output
  run --separate-stderr vm status --json
  [ "$(jq -c .states <<<"$list")" = "$(jq -c .states <<<"$output")" ]
  [ "$(jq -r .backend <<<"$list")" = "$TEST_BACKEND" ]
}

@test "the tables are rendered from the same records, without colour when stdout is not a terminal" {
  run --separate-stderr vm status
  [ "$status" -eq 0 ]
  [[ $output != *$'\e'* ]]
  [[ ${lines[0]} == "SLOT   STATE  RUNNING  SYSTEM" ]]
  [[ ${lines[2]} == "slot2  web    running  -" ]]
  [[ $output == *"STATE  SLOT   SIZE  ALLOCATED  SNAPSHOTS  LATEST"* ]]
  [[ $output == *"web    slot2  1G"*"  1          v1"* ]]
  run --separate-stderr vm list
  [[ $output != *$'\e'* ]]
  run --separate-stderr vm snapshots web
  [[ $output != *$'\e'* ]]
  [[ ${lines[1]} == "v1  "* ]]
}

@test "on a terminal the table has colour, unless NO_COLOR is set" {
  require_tools script
  run script -qec "$VM_STATE status" /dev/null
  [[ $output == *$'\e[32mrunning'* ]]
  NO_COLOR=1 run script -qec "$VM_STATE status" /dev/null
  [[ $output != *$'\e['* ]]
}

@test "log lines go to stderr, so --json on stdout stays parseable" {
  run --separate-stderr vm list --json
  jq -e . <<<"$output" >/dev/null
  run --separate-stderr vm assign slot1 db
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [[ $stderr == *"slot1 -> db"* ]]
}
