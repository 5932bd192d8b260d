#!/usr/bin/env bats
# vm-state's command line: help, usage errors, name validation, exit codes.

load helpers

setup() { setup_vm_state; }

@test "help lists every command and the exit codes, and needs neither root nor infra.json" {
  require_tools setpriv
  local as_user=()
  if (($(id -u) == 0)); then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
  VM_STATE_CONFIG=/nonexistent/infra.json run "${as_user[@]}" "$VM_STATE" help
  [ "$status" -eq 0 ]
  for cmd in list status create clone snapshot snapshots restore delete delete-snapshot assign migrate apply adopt gc \
    logs fleet-pull fleet-cancel replicate replica-promote fleet-serve help; do
    [[ $output == *"  $cmd "* ]] || { echo "help does not list $cmd"; return 1; }
  done
  [[ $output == *"3  busy"* && $output == *"4  not found or conflict"* && $output == *"2  usage"* ]]
}

@test "read-only commands work as an unprivileged user" {
  require_tools setpriv
  require_root # to switch to an unprivileged user
  make_state web
  readable_by_all
  run setpriv --reuid=65534 --regid=65534 --clear-groups "$VM_STATE" list --json
  [ "$status" -eq 0 ]
  [ "$(jq -r '.states[0].name' <<<"$output")" = web ]
}

@test "no test skips for want of root by itself: require_root decides (and fails under CI=true)" {
  # A root check followed by a skip, or a skip naming root, anywhere but require.bash itself.
  local found
  found=$(grep -rnE -e '(id -u|EUID|[$]UID).*[|][|][[:space:]]*skip' -e '\<skip[[:space:]]+"[^"]*root' \
    --include='*.bats' --include='*.bash' "$REPO/tests/bats" | grep -v '^[^:]*/tests/bats/lib/require\.bash:' || true)
  [ -z "$found" ] || { echo "use require_root instead: $found"; return 1; }
}

@test "no command, an unknown command and an unknown option are usage errors (exit 2)" {
  run vm
  [ "$status" -eq 2 ]
  [[ $output == *"vm-state: missing command"* ]]
  run vm frobnicate
  [ "$status" -eq 2 ]
  [[ $output == *"unknown command 'frobnicate'"* ]]
  run vm create web --force
  [ "$status" -eq 2 ]
  [[ $output == *"unknown option '--force'"* && $output == *"Usage: vm-state create NAME"* ]]
}

@test "a wrong number of arguments prints the command's usage line" {
  run vm clone onlyone
  [ "$status" -eq 2 ]
  [[ $output == *"expected 2 argument(s), got 1"* ]]
  [[ $output == *"Usage: vm-state clone SRC DST "* ]]
  run vm assign slot1
  [ "$status" -eq 2 ]
  [[ $output == *"Usage: vm-state assign SLOT STATE"* ]]
}

@test "options are accepted before and after the arguments" {
  run vm create --if-missing --size-gib 1 web
  [ "$status" -eq 0 ]
  run vm create web --size-gib=1 --if-missing
  [ "$status" -eq 0 ]
  [ "$(apparent "$(img web)")" -eq $((1024 * MiB)) ]
}

bad_names=('../x' 'a/b' 'a@b' '' "$(printf 'x%.0s' {1..64})" '-x' 'Web' 'web-' 'we b' 'a.b')

@test "bad state names are refused before any command runs (zfs backend, fake zfs sees nothing)" {
  write_config zfs slot1
  local name
  for name in "${bad_names[@]}"; do
    run vm create -- "$name"
    [ "$status" -eq 2 ] || { echo "create '$name' gave $status"; return 1; }
    [[ $output == *"invalid state name '$name': use lowercase letters, digits and '-', starting with a letter, not ending with '-', at most 63 characters"* ]]
    run vm clone -- "$name" ok
    [ "$status" -eq 2 ]
    run vm clone -- ok "$name"
    [ "$status" -eq 2 ]
    run vm delete --yes -- "$name"
    [ "$status" -eq 2 ]
  done
  [ ! -s "$FAKE_ZFS_LOG" ]
  [ ! -e "$VM_STATE_ROOT" ]
}

@test "a leading '-' without '--' is an unknown option, not a name" {
  run vm create -x
  [ "$status" -eq 2 ]
  [[ $output == *"unknown option '-x'"* ]]
}

@test "a state name of 63 characters is fine, 64 is not" {
  run vm create --size-gib 1 "$(printf 'x%.0s' {1..63})"
  [ "$status" -eq 0 ]
  run vm create --size-gib 1 "$(printf 'x%.0s' {1..64})"
  [ "$status" -eq 2 ]
}

@test "bad snapshot and slot names are refused before anything runs" {
  make_state web
  run vm snapshot web 'a/b'
  [ "$status" -eq 2 ]
  [[ $output == *"invalid snapshot name 'a/b'"* ]]
  run vm restore 'web@../x' copy
  [ "$status" -eq 2 ]
  run vm restore web copy
  [ "$status" -eq 2 ]
  [[ $output == *"expected STATE@SNAPSHOT, got 'web'"* ]]
  run vm assign slot-thirteen web
  [ "$status" -eq 2 ]
  [[ $output == *"invalid slot name 'slot-thirteen'"*"at most 12 characters"* ]]
  run vm assign '../slot1' web
  [ "$status" -eq 2 ]
  [ ! -s "$FAKE_SYSTEMCTL_LOG" ]
}

@test "an unreadable or wrong infra.json is an error naming the file" {
  VM_STATE_CONFIG=$BATS_TEST_TMPDIR/missing.json run vm list
  [ "$status" -eq 1 ]
  [[ $output == *"cannot read deployment data $BATS_TEST_TMPDIR/missing.json (set VM_STATE_CONFIG)"* ]]
  echo '{"version": 2, "slots": []}' >"$VM_STATE_CONFIG"
  run vm list
  [ "$status" -eq 1 ]
  [[ $output == *"is not valid infra.json version 1"* ]]
}

@test "an unknown backend is refused" {
  VM_STATE_BACKEND=nfs run vm list
  [ "$status" -eq 1 ]
  [[ $output == *"unknown backend 'nfs'"*"use zfs, xfs or files"* ]]
}

@test "slots come from infra.json, not from a built-in list" {
  write_config files alpha beta gamma delta
  run --separate-stderr vm status --json
  [ "$status" -eq 0 ]
  [ "$(jq -c '[.slots[].name]' <<<"$output")" = '["alpha","beta","gamma","delta"]' ]
  make_state web
  run vm assign slot1 web
  [ "$status" -eq 4 ]
  [[ $output == *"unknown slot 'slot1': slots in $VM_STATE_CONFIG are alpha beta gamma delta"* ]]
}

@test "names: every case of tests/fixtures/names.json, for slots, hosts, states and snapshots" {
  local table=$REPO/tests/fixtures/names.json kind i name want n=0
  local names=()
  mapfile -d '' -t names < <(jq -j '.cases[] | .name + "\u0000"' "$table")
  [ "${#names[@]}" -eq "$(jq '.cases | length' "$table")" ]
  for i in "${!names[@]}"; do
    name=${names[i]}
    for kind in slot host state snapshot; do
      want=$(jq -r --argjson i "$i" --arg kind "$kind" '.cases[$i][$kind]' "$table")
      run "$VM_STATE" __check-name "$kind" "$name"
      if [ "$want" = true ]; then
        [ "$status" -eq 0 ] || { echo "$kind $(jq -c --argjson i "$i" '.cases[$i]' "$table") refused: $output"; return 1; }
      else
        [ "$status" -eq 2 ] || { echo "$kind $(jq -c --argjson i "$i" '.cases[$i]' "$table") accepted"; return 1; }
        [[ $output == *"invalid $kind name"* ]]
      fi
      n=$((n + 1))
    done
  done
  [ "$n" -ge 75 ]
}

@test "names: the limits in the table are the ones vm-state states in its messages" {
  local table=$REPO/tests/fixtures/names.json
  run vm __check-name slot abcdefghijklm
  [[ $output == *"at most $(jq .maxLength.slot "$table") characters"* ]]
  run vm __check-name state "$(printf 'x%.0s' {1..64})"
  [[ $output == *"at most $(jq .maxLength.state "$table") characters"* ]]
  run vm __check-name slot states
  [ "$status" -eq 2 ]
  [[ $output == *"invalid slot name 'states': reserved"* ]]
  write_config files slot1
  make_state states
  run vm assign states states
  [ "$status" -eq 2 ]
}

@test "an option given an empty value is a usage error, not the default" {
  run vm create web --size-gib=
  [ "$status" -eq 2 ]
  [[ $output == *"option --size-gib needs a value"* ]]
  run vm create web --size-gib ''
  [ "$status" -eq 2 ]
  [[ $output == *"invalid --size-gib ''"* ]]
  [ ! -e "$VM_STATE_ROOT/states/web" ]
}

@test "a bad VM_STATE_* number is a usage error naming the variable" {
  VM_STATE_LOCK_WAIT=abc run vm create web --size-gib 1
  [ "$status" -eq 2 ]
  [[ $output == *"invalid VM_STATE_LOCK_WAIT 'abc': use a whole number of seconds from 0 to 86400"* ]]
  VM_STATE_START_TIMEOUT=soon run vm list
  [ "$status" -eq 2 ]
  [[ $output == *"invalid VM_STATE_START_TIMEOUT 'soon'"* ]]
  [ ! -e "$VM_STATE_ROOT/states/web" ]
}
