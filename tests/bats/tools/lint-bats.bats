#!/usr/bin/env bats
# tools/lint-bats.sh (a stage of `npm test`) finds the bats assertions that can never fail, on
# planted files; and the reason it exists: bats passes a test whose bare `! cmd` "fails".
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
  [[ ${lines[6]} == *'6 bare "!" assertion(s) above can never fail a test: write "run ! cmd"'* ]]
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
