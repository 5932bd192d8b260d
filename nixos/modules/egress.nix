# The host side of the slots' egress policies (docs/network.md), when a slot has an allowlist:
# nginx as the SNI/Host proxy, one dnsmasq per allowlist slot on its gateway, the NixOS firewall
# opening exactly those ports on exactly that slot's bridge. Everything per slot comes from
# ../lib/egress.nix; the ruleset that sends the slots here and holds the proxy to public addresses
# is ../lib/nftables.nix.
{ config, lib, pkgs, infra, ... }:
let
  egress = import ../lib/egress.nix infra;
in
lib.mkIf (egress.ports != { }) {
  assertions = [{
    assertion = config.users.users.nginx.uid == egress.proxyUid;
    message = "lib/egress.nix assumes nginx runs as uid ${toString egress.proxyUid}; the ruleset restricts that uid's connections";
  }];

  # The proxy and the slots' resolvers ask the host's resolver (its stub on 127.0.0.53).
  services.resolved.enable = true;

  services.nginx = {
    enable = true;
    # This nginx is the slots' egress proxy and nothing else: no default web server.
    virtualHosts = lib.mkDefault { };
    streamConfig = egress.nginx.stream;
    appendHttpConfig = egress.nginx.http;
  };

  networking.firewall.interfaces = egress.firewall;

  users.users.microvm-dns = { isSystemUser = true; group = "microvm-dns"; };
  users.groups.microvm-dns = { };
  systemd.services = lib.mapAttrs' (name: conf: lib.nameValuePair "microvm-dns-${name}" {
    description = "DNS of slot ${name}: its allowlisted domains only";
    wantedBy = [ "multi-user.target" ];
    after = [ "network.target" "systemd-resolved.service" ];
    serviceConfig = {
      # bind-dynamic (in the configuration): the gateway address may appear after the start.
      ExecStart = "${pkgs.dnsmasq}/bin/dnsmasq --keep-in-foreground --pid-file"
        + " --conf-file=${pkgs.writeText "microvm-dns-${name}.conf" conf} --user=microvm-dns --group=microvm-dns";
      Restart = "always";
    };
  }) egress.dnsmasq;
}
