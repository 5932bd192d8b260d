#!/usr/bin/env bats
# tools/lint-bats.sh (a stage of `npm test`) finds the bats assertions that can never fail, on
# planted files; and the reason it exists: bats passes a test whose bare `! cmd` "fails", and one
# whose `a && b` has a failing `a`.
load ../lib/require

setup() {
  REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
  LINT=$REPO/tools/lint-bats.sh
  PLANT=$BATS_TEST_TMPDIR/plant
  mkdir -p "$PLANT"
}

@test "why: in bats a bare '! cmd' passes even when cmd succeeds; 'run ! cmd' fails" {
  require_tools bats
  printf '%s\n' '@test "bare" {' '  ! true' '  true' '}' >"$PLANT/bare.bats"
  printf '%s\n' '@test "run" {' '  run ! true' '  true' '}' >"$PLANT/run.bats"
  run bats "$PLANT/bare.bats"
  [ "$status" -eq 0 ]
  run bats "$PLANT/run.bats"
  [ "$status" -ne 0 ]
}

@test "why: in bats 'false && true' passes, also in a { } group; as separate assertions it fails" {
  require_tools bats
  printf '%s\n' '@test "list" {' '  false && true' '  { false && true; }' '  true' '}' >"$PLANT/list.bats"
  printf '%s\n' '@test "split" {' '  false' '  true' '  true' '}' >"$PLANT/split.bats"
  run bats "$PLANT/list.bats"
  [ "$status" -eq 0 ]
  run bats "$PLANT/split.bats"
  [ "$status" -ne 0 ]
}

@test "each bare '!' statement is reported with its file and line, and the lint fails" {
  cat >"$PLANT/bad.bats" <<'BATS'
planted() {
  ! running slot1
  run vm list
	! grep -q x "$LOG"
  [ "$status" -eq 0 ] && ! grep -q y "$LOG"
  true; ! false
  echo x || ! true
}
BATS
  printf '%s\n' 'helper() {' '  ! host_running main slot1' '}' >"$PLANT/helpers.bash"
  run "$LINT" "$PLANT"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "$PLANT/bad.bats:2: ! running slot1" ]
  [ "${lines[1]}" = "$PLANT/bad.bats:4: ! grep -q x \"\$LOG\"" ]
  [ "${lines[2]}" = "$PLANT/bad.bats:5: [ \"\$status\" -eq 0 ] && ! grep -q y \"\$LOG\"" ]
  [ "${lines[3]}" = "$PLANT/bad.bats:6: true; ! false" ]
  [ "${lines[4]}" = "$PLANT/bad.bats:7: echo x || ! true" ]
  [ "${lines[5]}" = "$PLANT/helpers.bash:2: ! host_running main slot1" ]
  [[ ${lines[6]} == *'6 assertion(s) above can never fail a test (a bare "!", or an "a && b" whose "a" may fail unnoticed): write "run ! cmd"'* ]]
  [ "${#lines[@]}" -eq 7 ]
}

@test "each '&&' list whose first command may fail unnoticed is reported, in a test, a group or a loop" {
  cat >"$PLANT/lists.bats" <<'BATS'
planted() {
  running slot1 && running slot3
  [ "$ra" -eq 0 ] && [ "$rb" -eq 0 ] # both must be 0
  vm assign s1 s1 || { vm create s1 && vm assign s1 s1; }
  for s in a b; do check "$s" && echo "$s ok"; done
  x=1; [ -e "$F" ] && grep -q y "$F"
  helper() { [ -e "$1" ] && touch "$1.seen"; echo done; }
}
BATS
  run "$LINT" "$PLANT/lists.bats"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "$PLANT/lists.bats:2: running slot1 && running slot3" ]
  [ "${lines[1]}" = "$PLANT/lists.bats:3: [ \"\$ra\" -eq 0 ] && [ \"\$rb\" -eq 0 ] # both must be 0" ]
  [ "${lines[2]}" = "$PLANT/lists.bats:4: vm assign s1 s1 || { vm create s1 && vm assign s1 s1; }" ]
  [ "${lines[3]}" = "$PLANT/lists.bats:5: for s in a b; do check \"\$s\" && echo \"\$s ok\"; done" ]
  [ "${lines[4]}" = "$PLANT/lists.bats:6: x=1; [ -e \"\$F\" ] && grep -q y \"\$F\"" ]
  [ "${lines[5]}" = "$PLANT/lists.bats:7: helper() { [ -e \"\$1\" ] && touch \"\$1.seen\"; echo done; }" ]
  [[ ${lines[6]} == *'6 assertion(s) above can never fail a test'* ]]
  [ "${#lines[@]}" -eq 7 ]
}

@test "assertions that can fail, conditions, comments and here-documents pass" {
  cat >"$PLANT/good.bats" <<'BATS'
planted() {
  run ! running slot1
  if ! grep -q x "$LOG"; then echo missing; fi
  while ! [ -e "$F" ]; do sleep 0.1; done
  [ ! -f "$F" ]
  [[ ! -s $F ]]
  if grep -qx spoofed "$LOG"; then say "spoofed"; fi
  # ! a comment about "! cmd"
  run ! grep -q a <<<"$text"
  cat >"$BIN/probe" <<'FAKE'
#!/usr/bin/env bash
! grep -qxF "$1" "$CONTROL"
FAKE
  cat >"$BIN/other" <<-EOF
	! false
	EOF
  helper() { ! running "$1"; }
  running slot1
  running slot3
  [[ -e $A && -e $B ]]
  ((count > 0 && count < 9))
  if [ -e "$A" ] && [ -e "$B" ]; then echo both; fi
  while read -r line && [[ $line != "" ]]; do :; done
  for _ in {1..50}; do [ -e "$F" ] && break; sleep 0.1; done
  [ -s "$mark" ] && return 0
  [ "$status" -eq 0 ] && [ -e "$F" ] || { echo "failed: $output"; return 1; }
  REPO=$(cd "$DIR/.." && pwd)
  (cd "$DIR" && make)
  declare_runner() { mkdir -p "$1" && ln -sfn "$2" "$1/current"; }
  echo "a && b" 'c && d' # and && here
  run bash -c 'mount -t tmpfs tmpfs /run &&
    exec "$@"' sh true
  mapfile -t files < <(
    cd "$DIR" && git ls-files)
}
BATS
  run "$LINT" "$PLANT/good.bats"
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
}

@test "the repository's own bats files are clean; a path that does not exist is an error" {
  run "$LINT"
  [ "$status" -eq 0 ]
  run "$LINT" "$PLANT/missing"
  [ "$status" -eq 2 ]
  [ "$output" = "lint-bats: no such file or directory: $PLANT/missing" ]
}
