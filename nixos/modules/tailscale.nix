# The host joins the tailnet as a subnet router for exactly the slots' subnets. The auth key is a
# root-only file pushed by the deploy step; it never enters the Nix store.
{ lib, infra, ... }:
let
  ts = infra.tailscale;
  flags = import ../lib/tailscale.nix infra;
in
lib.mkIf ts.enabled {
  services.tailscale = {
    enable = true;
    authKeyFile = ts.authKeyFile;
    # "server": IPv4 and IPv6 forwarding on. It leaves reverse-path filtering strict (only "client"
    # and "both" loosen it: ../rules/runtime.json tailscaleRoutingFeatures cites nixpkgs), which a
    # subnet router needs no more than that: replies to tailnet addresses route back out of
    # tailscale0, and this host uses no other node's routes or exit node.
    useRoutingFeatures = "server";
    openFirewall = true; # its UDP port, for direct connections
    extraSetFlags = flags.setFlags;
    extraUpFlags = flags.upFlags;
  };
  # Without the key (first deploy before the secret is pushed) the login waits instead of failing.
  systemd.services.tailscaled-autoconnect.unitConfig.ConditionPathExists = ts.authKeyFile;
}
