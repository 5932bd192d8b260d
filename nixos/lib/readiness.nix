# system -> how microvm@<slot> knows its VM is up, decided from what microvm.nix and Cloud
# Hypervisor do at the pinned revisions (../rules/runtime.json, which cites them):
#   notify    true when the guest can send systemd's READY=1 to the host: microvm.nix then makes
#             the unit Type=notify; it needs a vsock CID and the notify socket's address, which the
#             cloud-hypervisor runner passes as an SMBIOS OEM string, and Cloud Hypervisor writes
#             SMBIOS on x86_64 only (runtime.json notifySocket.oemStringsSystems).
#   vsockCid  index -> the guest's microvm.vsock.cid: index + 2 where notify works (0, 1, 2 are
#             reserved: hypervisor, loopback, host), null elsewhere. On aarch64 a CID would make the
#             unit Type=notify with no READY=1 ever arriving: start timeout (150 s), kill, restart,
#             forever. Without it the unit is Type=simple: active once cloud-hypervisor runs, and the
#             deployment checks that the VM answers on its address (components/deploy/remote/apply-slots.sh).
#   unitType  "notify" or "simple", what microvm.nix gives microvm@<slot> with that CID.
#
# Builtins only (no nixpkgs).
system:
let
  runtime = builtins.fromJSON (builtins.readFile ../rules/runtime.json);
  notify = builtins.elem system runtime.notifySocket.oemStringsSystems;
in
{
  inherit notify;
  vsockCid = index: if notify then index + 2 else null;
  unitType = if notify then "notify" else "simple";
}
