# infra -> { setFlags; upFlags; } for services.tailscale.
# setFlags are applied by `tailscale set` on every start, so a new slot's route is advertised
# without re-authenticating; `tailscale up` (first login) must repeat them, and adds the tags.
infra:
let
  ts = infra.tailscale;
  join = builtins.concatStringsSep ",";
  setFlags = [
    "--hostname=${ts.hostname}"
    "--advertise-routes=${join ts.advertiseRoutes}"
    # The host's ruleset (lib/nftables.nix) owns netfilter; slots see tailnet source addresses.
    "--netfilter-mode=off"
    "--accept-dns=false"
  ];
in
{
  inherit setFlags;
  upFlags = setFlags ++ builtins.filter (f: f != null) [
    (if ts.tags == [ ] then null else "--advertise-tags=${join ts.tags}")
  ];
}
