#!/usr/bin/env bats
# The Nix tests run with a configuration of their own (tests/bats/lib/nix.bash), so a fresh machine
# (Debian's nix-bin: no /etc/nix/nix.conf, no nixbld group) and a machine configured otherwise give
# the same results, and Nix's messages never mix with the values the tests parse.
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
}

@test "an evaluation prints its value on stdout and nothing on stderr" {
  run --separate-stderr generate validate "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ] || { echo "stderr: $stderr" >&2; return 1; }
  [ "$(jq -r .version <<<"$output")" = 1 ]
}

@test "the tests' nix.conf is the one Nix reads, and it needs no build users" {
  [ "$NIX_CONF_DIR" = "$BATS_FILE_TMPDIR/nix/conf" ]
  [ "$NIX_USER_CONF_FILES" = "$NIX_CONF_DIR/nix.conf" ]
  grep -qx 'build-users-group =' "$NIX_CONF_DIR/nix.conf"
  [ -z "${NIX_CONFIG+set}" ]
}

# hostile_machine DIR: a machine-wide and a per-user nix.conf that break any evaluation that reads
# them (a missing plugin), ask for the nixbld group and forbid reading files.
hostile_machine() {
  mkdir -p "$1/etc/nix" "$1/home/.config/nix"
  cat >"$1/etc/nix/nix.conf" <<'CONF'
build-users-group = nixbld
restrict-eval = true
plugin-files = /nonexistent/hostile-plugin.so
CONF
  cp "$1/etc/nix/nix.conf" "$1/home/.config/nix/nix.conf"
}

@test "a hostile /etc/nix/nix.conf, user nix.conf and NIX_CONFIG change nothing" {
  require_root
  require_tools unshare mount
  local h="$BATS_TEST_TMPDIR/hostile"
  hostile_machine "$h"
  # The machine's /etc is seen with nix/nix.conf added, in a mount namespace of this test only:
  # nothing is written to the real /etc.
  local in_hostile_etc="mount -t overlay overlay -o lowerdir=$h/etc:/etc /etc && exec \"\$@\""
  # Control: Nix with the machine's configuration reads the hostile file and fails.
  run unshare --mount --propagation private sh -c "$in_hostile_etc" _ \
    env -u NIX_CONF_DIR -u NIX_USER_CONF_FILES HOME="$h/home" nix-instantiate --eval --expr 1
  [ "$status" -ne 0 ] || { echo "control: the hostile configuration was not read" >&2; return 1; }
  # With the tests' configuration, the same environment evaluates cleanly.
  # shellcheck disable=SC2016 # expanded by the inner bash
  run --separate-stderr unshare --mount --propagation private sh -c "$in_hostile_etc" _ \
    env HOME="$h/home" XDG_CONFIG_HOME="$h/home/.config" BATS_FILE_TMPDIR="$BATS_TEST_TMPDIR" bash -c '
      source "$1/tests/bats/lib/require.bash"; source "$1/tests/bats/lib/nix.bash"
      export NIX_CONFIG="restrict-eval = true"
      nix_setup; nix_eval "builtins.fromJSON (builtins.readFile $2)"' _ "$REPO_ROOT" "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ] || { echo "stderr: $stderr" >&2; return 1; }
  [ -z "$stderr" ]
  [ "$(jq -c .slots[0].name <<<"$output")" = '"slot1"' ]
}
