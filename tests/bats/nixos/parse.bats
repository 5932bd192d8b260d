#!/usr/bin/env bats
# Every .nix file of the repository parses.
load helpers

setup() { require_tool nix-instantiate "Debian package nix-bin"; }

@test "every .nix file in the repository parses" {
  local files=() f failed=0
  while IFS= read -r -d '' f; do files+=("$f"); done < <(
    cd "$REPO" && git ls-files -z --cached --others --exclude-standard -- '*.nix')
  [ "${#files[@]}" -gt 10 ]
  for f in "${files[@]}"; do
    if ! out=$(nix-instantiate --parse "$REPO/$f" 2>&1 >/dev/null); then
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
  run env CI=true PATH=/nonexistent BATS_TEST_DIRNAME="$BATS_TEST_DIRNAME" /bin/bash -c \
    'source "$BATS_TEST_DIRNAME/helpers.bash"; skip() { echo SKIPPED; }; require_tool nix-instantiate "Debian package nix-bin"'
  [ "$status" -eq 1 ]
  [[ "$output" == *"nix-instantiate is required in CI but is not installed (Debian package nix-bin)"* ]]
  run env CI= PATH=/nonexistent BATS_TEST_DIRNAME="$BATS_TEST_DIRNAME" /bin/bash -c \
    'source "$BATS_TEST_DIRNAME/helpers.bash"; skip() { echo SKIPPED; }; require_tool nix-instantiate'
  [ "$output" = SKIPPED ]
}
