# Shared by the bats suites that evaluate Nix (tests/bats/nixos, tests/bats/nixos-net): Nix runs
# with a configuration of the tests' own, never the machine's, so the results do not depend on
# whether /etc/nix/nix.conf exists, what it says, or whether a `nixbld` group exists.
# Load with: load ../lib/require; load ../lib/nix   (then call nix_setup in setup or setup_file)
#
# nix_eval prints JSON on stdout and nothing else: run it with `run --separate-stderr` (bats >= 1.5)
# so that $output is the value and $stderr holds Nix's messages; never parse them together.

# nix_setup: require nix-instantiate (skip locally, fail under CI=true), write the tests' nix.conf
# and point Nix at it and at a state directory of the tests' own.
nix_setup() {
  require_tools nix-instantiate || return
  local dir=${BATS_FILE_TMPDIR:?}/nix
  mkdir -p "$dir/conf" "$dir/state" "$dir/log"
  # NIX_CONF_DIR replaces /etc/nix, NIX_USER_CONF_FILES replaces ~/.config/nix/nix.conf.
  cat >"$dir/conf/nix.conf" <<'EOF'
# Written by tests/bats/lib/nix.bash: the only Nix configuration the tests read.
# No build users: nothing is built, and Debian's nix-bin has no nixbld group.
build-users-group =
# Evaluation only: a store that holds nothing and writes nothing (paths are only computed).
store = dummy://
experimental-features =
restrict-eval = false
pure-eval = false
allow-import-from-derivation = false
substituters =
EOF
  export NIX_CONF_DIR="$dir/conf" NIX_USER_CONF_FILES="$dir/conf/nix.conf"
  export NIX_STATE_DIR="$dir/state" NIX_LOG_DIR="$dir/log"
  # Settings from the environment would override the file; search paths would leak in.
  unset NIX_CONFIG NIX_PATH NIX_REMOTE NIX_STORE_DIR NIX_STORE NIX_DAEMON_SOCKET_PATH
}

# nix_eval EXPR [NIX-INSTANTIATE-ARG...]: the JSON value of EXPR, fully evaluated, on stdout.
nix_eval() {
  nix-instantiate --eval --strict --json --expr "$1" "${@:2}"
}
