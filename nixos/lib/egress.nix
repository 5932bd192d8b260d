# The host side of the slots' egress policies (docs/network.md), generated from infra.json.
#
# Value: infra -> {
#   proxyUid, resolver, portRange;       constants the ruleset and the modules share
#   ports.<slot> = { tls; http; };        the slot's proxy listeners (allowlist slots only)
#   nginx = { stream; http; };            text for nginx's `stream {}` and `http {}` blocks
#   dnsmasq.<slot> = text;                the configuration of the slot's resolver on its gateway
#   firewall.<bridge> = { allowedTCPPorts; allowedUDPPorts; };   for the NixOS firewall
# }
#
# An allowlist slot reaches the internet only through nginx on the host: nftables.nix sends every
# TCP connection it opens to port 443 or 80, whatever the address, to the slot's own listeners.
# HTTPS: nginx reads the TLS SNI (ssl_preread, no decryption), and connects to that name on port
# 443 only if it is on the slot's list, resolving it itself: the address the slot connected to is
# never used, so an allowed SNI sent toward another address still reaches only the allowed name.
# HTTP: the same with the Host header. The slot's DNS goes to a dnsmasq of its own on its gateway,
# which forwards only the listed names (a wildcard's subdomains, not its own name) to the host's resolver and refuses
# every other name. Everything else from the slot is dropped by the ruleset.
#
# Builtins only (no nixpkgs): tests/bats/nixos-net runs this very text in the real nginx and dnsmasq.
infra:
let
  inherit (builtins)
    concatStringsSep
    filter
    listToAttrs
    map
    replaceStrings
    substring
    stringLength
    ;

  slots = import ./slot-defaults.nix infra;
  allowlisted = filter (s: s.egress.policy == "allowlist") slots;

  lines = concatStringsSep "\n";
  indent = prefix: text: lines (map (l: if l == "" then l else prefix + l) (builtins.filter builtins.isString (builtins.split "\n" text)));
  # nginx variable names take [A-Za-z0-9_]; slot names are a-z 0-9 '-' (no '_'), so this is 1:1.
  var = kind: s: "$microvm_egress_${kind}_${replaceStrings [ "-" ] [ "_" ] s.name}";

  wildcard = d: substring 0 2 d == "*.";
  # dnsmasq's --server=/<domain>/ matches the domain and its subdomains; /*.<domain>/ matches the
  # subdomains only (dnsmasq(8), --server), as "*.a.b" means in the allowlist: never a.b itself.
  dnsmasqDomain = d: if wildcard d then "*.${base d}" else d;
  base = d: if wildcard d then substring 2 (stringLength d - 2) d else d;
  # An allowlist entry as an anchored, case-insensitive PCRE: "a.b" is exactly a.b; "*.a.b" is any
  # name of one or more labels followed by .a.b (not a.b itself). Domains are checked by rules.nix:
  # only a-z 0-9 '-' '.', so escaping the dots is all the quoting needed.
  regex =
    d:
    let
      escaped = replaceStrings [ "." ] [ "\\." ] (base d);
    in
    if wildcard d then "~*^([a-z0-9-]+\\.)+${escaped}$" else "~*^${escaped}$";

  # The host ports the proxy keeps (../rules/rules.json hostPort, which the program refuses to
  # publish): HTTPS listeners from its first port, HTTP listeners 500 above (indexes go to 254).
  proxyPorts = builtins.head (filter (r: r.why == "the egress proxy") (builtins.fromJSON (builtins.readFile ../rules/rules.json)).hostPort.reserved);
  # Every decision of a slot's proxy, one line each, to the host's journal (its syslog socket) under
  # the tag egress_<slot> (nginx's tags take [A-Za-z0-9_]: the slot's name with '_' for '-'), so
  # `journalctl -t egress_<slot>` lists which names the slot asked for and what it got: decision
  # allowed or refused (a refused name is never connected to). The name only, never a URL's path.
  logTag = s: "egress_${replaceStrings [ "-" ] [ "_" ] s.name}";
  logSocket = "/dev/log";
  decisionLog = kind: s: refused: proto: name: extra: ''
    map ${var kind s} ${var "${kind}_decision" s} {
        ${refused} refused;
        default allowed;
    }
    log_format microvm_egress_${kind}_${replaceStrings [ "-" ] [ "_" ] s.name} "egress slot=${s.name} client=$remote_addr proto=${proto} host=${name} decision=${var "${kind}_decision" s} ${extra}";'';
  accessLog = kind: s: "access_log syslog:server=unix:${logSocket},tag=${logTag s},nohostname microvm_egress_${kind}_${replaceStrings [ "-" ] [ "_" ] s.name};";

  ports = s: {
    tls = proxyPorts.from + s.index;
    http = proxyPorts.from + 500 + s.index;
  };

  timeouts = ''
    resolver ${resolver} ipv6=off valid=30s;
    resolver_timeout 5s;
    proxy_connect_timeout 5s;
  '';

  streamServer = s: ''
    # ${s.name}: HTTPS by SNI to its allowlist (${toString (builtins.length s.egress.domains)} entries, one per map line).
    map $ssl_preread_server_name ${var "tls" s} {
        default microvm_egress_denied;
    ${lines (map (d: "    ${regex d} $ssl_preread_server_name:443;") s.egress.domains)}
    }
    ${decisionLog "tls" s "microvm_egress_denied" "https" "$ssl_preread_server_name" "status=$status sent=$bytes_sent received=$bytes_received"}
    server {
        listen ${toString (ports s).tls};
        ssl_preread on;
        preread_timeout 10s;
    ${indent "    " timeouts}
        ${accessLog "tls" s}
        proxy_pass ${var "tls" s};
    }
  '';

  httpServer = s: ''
    # ${s.name}: HTTP by Host to its allowlist, as above.
    map $host ${var "http" s} {
        default 0;
    ${lines (map (d: "    ${regex d} 1;") s.egress.domains)}
    }
    ${decisionLog "http" s "0" "http" "$host" "status=$status"}
    server {
        listen ${toString (ports s).http};
    ${indent "    " timeouts}
        ${accessLog "http" s}
        location / {
            if (${var "http" s} = 0) {
                return 403 "egress: $host is not on the allowlist of slot ${s.name}\n";
            }
            proxy_pass http://$host;
        }
    }
  '';

  dnsmasq = s: ''
    # Generated by nixos/lib/egress.nix: the resolver of slot ${s.name} (egress allowlist), on its
    # gateway. It answers only the allowlisted domains (and their subdomains), from the host's
    # resolver; every other name is refused, so DNS carries nothing else out of the slot.
    listen-address=${s.gateway}
    bind-dynamic
    port=53
    no-resolv
    no-hosts
    no-poll
    ${lines (map (d: "server=/${dnsmasqDomain d}/${resolver}") s.egress.domains)}
  '';

  # The NixOS nginx user's uid (nixpkgs' ids.uids.nginx); modules/egress.nix asserts it. The ruleset
  # keeps this user's connections away from private, link-local and loopback addresses.
  proxyUid = 60;
  # systemd-resolved's stub listener on the host.
  resolver = "127.0.0.53";
in
{
  inherit proxyUid resolver;
  portRange = "${toString proxyPorts.from}-${toString proxyPorts.to}";
  ports = listToAttrs (map (s: { name = s.name; value = ports s; }) allowlisted);

  nginx = {
    stream = ''
      # Generated by nixos/lib/egress.nix from infra.json: the egress proxy of the allowlist slots.
      # Names that are not allowed go to this upstream, whose only server is down: nginx closes the
      # connection without connecting anywhere.
      upstream microvm_egress_denied {
          server 127.0.0.1:9 down;
      }
    '' + lines (map streamServer allowlisted);
    http = ''
      # Generated by nixos/lib/egress.nix from infra.json: HTTP egress of the allowlist slots.
    '' + lines (map httpServer allowlisted);
  };

  dnsmasq = listToAttrs (map (s: { name = s.name; value = dnsmasq s; }) allowlisted);

  firewall = listToAttrs (
    map (s: {
      name = s.bridge;
      value = {
        allowedTCPPorts = [ 53 (ports s).tls (ports s).http ];
        allowedUDPPorts = [ 53 ];
      };
    }) allowlisted
  );
}
