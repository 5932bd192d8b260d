#!/usr/bin/env bats
# `npm test` (tools/test.sh) runs every stage even when one fails, and fails at the end.
load ../lib/require

setup() {
  REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
  FAKEBIN=$BATS_TEST_TMPDIR/bin
  mkdir -p "$FAKEBIN"
  # npx stands in for tsc and jest: records the call, fails for the tool named in $FAIL.
  cat >"$FAKEBIN/npx" <<'FAKE'
#!/usr/bin/env bash
echo "npx $*" >>"$CALLS"
[[ " $* " != *" $FAIL "* ]]
FAKE
  printf '#!/usr/bin/env bash\necho "bats $*" >>"$CALLS"\n[[ $FAIL != bats ]]\n' >"$FAKEBIN/fake-shell"
  chmod +x "$FAKEBIN/npx" "$FAKEBIN/fake-shell"
  export CALLS=$BATS_TEST_TMPDIR/calls MICROVM_TEST_SHELL=$FAKEBIN/fake-shell
}

run_tests() { PATH=$FAKEBIN:$PATH run bash "$REPO/tools/test.sh" --filter x; }

@test "a failing type check does not hide jest and bats: all stages run, the run fails" {
  FAIL=tsc run_tests
  [ "$status" -ne 0 ]
  grep -q "tsc --noEmit" "$CALLS"
  grep -qx "npx --no-install eslint ." "$CALLS"
  grep -qx "npx --no-install prettier --check ." "$CALLS"
  grep -q "jest" "$CALLS"
  grep -qx "bats --filter x" "$CALLS"
  [[ $output == *"FAILED  type check"* ]]
  [[ $output == *"ok      jest"* ]]
  [[ $output == *"ok      bats"* ]]
}

@test "vm-state is built first; the bats stage runs scripts/vm-state (no VM_STATE_BIN) unless the caller sets one" {
  FAIL=none run_tests
  [ "$status" -eq 0 ]
  [ "$(head -1 "$CALLS")" = "npx --no-install tsx vm-state/build.ts" ]
  [[ $output == *"ok      vm-state build"* ]]
  printf '#!/usr/bin/env bash\necho "bats VM_STATE_BIN=${VM_STATE_BIN-unset}" >>"$CALLS"\n' >"$FAKEBIN/fake-shell"
  rm -f "$CALLS"
  unset VM_STATE_BIN
  run_tests
  grep -qx "bats VM_STATE_BIN=unset" "$CALLS"
  rm -f "$CALLS"
  VM_STATE_BIN=/elsewhere/vm-state run_tests
  grep -qx "bats VM_STATE_BIN=/elsewhere/vm-state" "$CALLS"
}

@test "a failing jest stage still runs bats; all passing exits 0" {
  FAIL=jest run_tests
  [ "$status" -ne 0 ]
  grep -qx "bats --filter x" "$CALLS"
  [[ $output == *"FAILED  jest"* ]]
  rm -f "$CALLS"
  FAIL=none run_tests
  [ "$status" -eq 0 ]
  [ "$(wc -l <"$CALLS")" -eq 6 ]
}
