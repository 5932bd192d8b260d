# Shared by every bats suite: a test that needs a tool (or root) skips with a message when it is
# missing locally, and fails under CI=true, where .ci/run must have installed everything.
# Load with: load ../lib/require

# require_tools TOOL...: every TOOL on PATH (PATH includes /usr/sbin and /sbin for Debian's
# e2fsprogs, nft, ip, sshd).
require_tools() {
  local tool missing=()
  PATH=$PATH:/usr/sbin:/sbin
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  ((${#missing[@]} == 0)) && return 0
  if [[ ${CI:-} == true ]]; then
    echo "CI=true but missing: ${missing[*]} (.ci/run installs them)" >&2
    return 1
  fi
  skip "missing tools: ${missing[*]}"
}

# require_root: network namespaces, loop devices and mounts need root.
require_root() {
  ((EUID == 0)) && return 0
  if [[ ${CI:-} == true ]]; then
    echo "CI=true but not running as root" >&2
    return 1
  fi
  skip "needs root"
}
