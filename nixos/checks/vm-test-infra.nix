# infra -> the deployment data of the NixOS VM test (./hypervisor.nix): the stack's own, changed only
# where a test machine differs, so the test runs the same modules on what the docs promise.
#   - one host, named after the test node ("host"), no fleet, no tailnet;
#   - storage "zfs": the pool is created on the test VM's empty second disk (/dev/vdb, a file on the
#     test driver's side) by the same first-boot script as on EC2;
#   - the first two slots: the first as it is (no declared modules: the test has no extra inputs),
#     small enough to boot inside the test VM; the second with an egress allowlist, so the proxy
#     and the slot's resolver run.
# Builtins only: tests/bats/nixos/vm-test.bats evaluates it on every fixture and checks the result
# against validate.nix.
infra:
let
  inherit (builtins) elemAt length removeAttrs;
  node = "host";
  slot = i: elemAt infra.slots i;
in
assert length infra.slots >= 2;
removeAttrs infra [ "fleet" ]
// {
  host = infra.host // {
    hostName = node;
  };
  storage = {
    backend = "zfs";
    pool = "microvm-test";
    device = "/dev/vdb";
    safetySnapshots = infra.storage.safetySnapshots or { keep = 5; maxAgeDays = 30; };
    autoSnapshots = [ ];
  };
  tailscale = infra.tailscale // {
    enabled = false;
  };
  slots = [
    ((removeAttrs (slot 0) [ "egress" "publish" ]) // { modules = [ ]; memMiB = 512; vcpu = 1; diskGiB = 2; })
    ((removeAttrs (slot 1) [ "publish" ]) // {
      modules = [ ];
      egress = { policy = "allowlist"; domains = [ "example.com" "*.example.org" ]; };
    })
  ];
}
