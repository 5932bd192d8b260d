# infra -> its slots, checked by ./validate.nix, with the optional workload fields filled in:
#   egress  = { policy = "internet" | "none" | "allowlist"; domains = [ ... ]; }   (default internet)
#   publish = [ { port; to = "tailnet" | "internet"; hostPort; sources; } ]        (default [])
#             hostPort defaults to port; tailnet entries have hostPort = null and sources = []
#   modules = [ "guests/<name>" | "<input>#<attr>" ... ]                           (default [])
# The one place these defaults are written; every generator that reads the fields takes them here.
#
# Builtins only (no nixpkgs).
infra:
let
  egress = e: {
    policy = e.policy or "internet";
    domains = e.domains or [ ];
  };
  publish = p: {
    inherit (p) port to;
    hostPort = if p.to == "internet" then p.hostPort or p.port else null;
    sources = if p.to == "internet" then p.sources else [ ];
  };
in
map (
  s:
  s
  // {
    egress = egress (if (s.egress or null) == null then { } else s.egress);
    publish = map publish (if (s.publish or null) == null then [ ] else s.publish);
    modules = if (s.modules or null) == null then [ ] else s.modules;
  }
) (import ./validate.nix infra).slots
