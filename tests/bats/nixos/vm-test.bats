#!/usr/bin/env bats
# The NixOS VM test (nixos/checks/hypervisor.nix) cannot run here (no KVM, no nixpkgs); what can be
# checked is: its deployment data (checks/vm-test-infra.nix) on every fixture, and the test itself
# evaluated with stand-ins for the few nixpkgs values it reads, so that the script it would run
# covers what README and docs/vm-state.md say it does: ZFS on a file-backed disk, an allowlist
# slot, a VM started.
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
}

@test "the VM test's deployment data passes validate.nix for every fixture: zfs on the spare disk, one allowlist slot" {
  local fx
  for fx in "$FIXTURES"/*.json "$NIXOS/infra.json"; do
    run --separate-stderr eval_infra "import (lib + \"/validate.nix\") (import (lib + \"/../checks/vm-test-infra.nix\") infra)" "$fx"
    [ "$status" -eq 0 ] || { echo "$fx: $stderr" >&2; return 1; }
    jq -e '.storage.backend == "zfs" and .storage.device == "/dev/vdb" and (has("fleet") | not) and .tailscale.enabled == false' <<<"$output"
    jq -e '.slots | length == 2 and (.[0].egress // {policy: "internet"}).policy == "internet"
             and .[1].egress.policy == "allowlist" and all(.modules == [])' <<<"$output"
    jq -e '.host.hostName == "host"' <<<"$output"
  done
}


@test "the VM test's script: ZFS pool on the spare disk, the allowlist slot's proxy and resolver, a VM started and answering" {
  run --separate-stderr eval_infra "(import (lib + \"/../checks/hypervisor.nix\") {
      pkgs = { testers.runNixOSTest = t: t; jq = \"/jq\"; stdenv.hostPlatform.system = \"aarch64-linux\"; };
      hostModules = [ ]; inputs = { }; infra = infra; }).testScript" "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  local script
  script=$(jq -r . <<<"$output")
  [[ "$script" == *'host.wait_for_unit("microvm-state-pool.service")'* ]]
  [[ "$script" == *'zpool list -H -o name microvm-test'* ]]
  [[ "$script" == *'findmnt -n -o FSTYPE /var/lib/microvms/states)\" = zfs'* ]]
  [[ "$script" == *'host.wait_for_unit("microvm-dns-slot2.service")'* ]]
  [[ "$script" == *"sport = :20002"* ]]
  [[ "$script" == *'vm-state create slot1 --size-gib 2'* ]]
  [[ "$script" == *'vm-state assign slot1 slot1'* ]]
  [[ "$script" == *'microvm@slot1.service)\" = simple'* ]]
  [[ "$script" == *'ping -c 1 -W 2 10.1.0.2'* ]]
}

@test "the VM test's node: the spare disk the pool is made on" {
  run --separate-stderr eval_infra "(import (lib + \"/../checks/hypervisor.nix\") {
      pkgs = { testers.runNixOSTest = t: t; jq = \"/jq\"; stdenv.hostPlatform.system = \"aarch64-linux\"; };
      hostModules = [ ]; inputs = { }; infra = infra; }).nodes.host.virtualisation" "$FIXTURES/five-slots.json"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  [ "$(jq -c .emptyDiskImages <<<"$output")" = '[4096]' ]
}
