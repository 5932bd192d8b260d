# Shared by tests/bats/nixos-net: the nixos suite's helpers (paths, Nix, skip-or-fail), plus the
# ruleset text.
load ../nixos/helpers

# ruleset FIXTURE [EDIT]: the nftables ruleset text generated for FIXTURE.
ruleset() {
  local json
  json=$(generate nftables "$@") || return
  jq -r . <<<"$json"
}
