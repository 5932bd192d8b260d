#!/usr/bin/env bats
# Every .nix file of the repository parses.
load helpers

setup() { nix_setup; }

@test "every .nix file in the repository parses" {
  local files=() f failed=0
  while IFS= read -r -d '' f; do files+=("$f"); done < <(
    cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard -- '*.nix')
  [ "${#files[@]}" -gt 10 ]
  for f in "${files[@]}"; do
    if ! out=$(nix-instantiate --parse "$REPO_ROOT/$f" 2>&1 >/dev/null); then
      echo "$f: $out" >&2
      failed=1
    fi
  done
  [ "$failed" -eq 0 ]
}

@test "a file with a syntax error is reported (the check can fail)" {
  printf '{ a = ; }\n' >"$BATS_TEST_TMPDIR/bad.nix"
  run nix-instantiate --parse "$BATS_TEST_TMPDIR/bad.nix"
  [ "$status" -ne 0 ]
}

@test "CI=true: a missing nix-instantiate fails the run instead of skipping" {
  # shellcheck disable=SC2016 # expanded by the inner bash
  local script='set -e; source "$1/tests/bats/lib/require.bash"; source "$1/tests/bats/lib/nix.bash"
    skip() { echo SKIPPED; exit 0; }; BATS_FILE_TMPDIR=$2; nix_setup; echo RAN'
  run env CI=true PATH=/nonexistent /bin/bash -c "$script" _ "$REPO_ROOT" "$BATS_TEST_TMPDIR"
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" != RAN ]
  run env CI= PATH=/nonexistent /bin/bash -c "$script" _ "$REPO_ROOT" "$BATS_TEST_TMPDIR"
  [ "$output" = SKIPPED ]
}
