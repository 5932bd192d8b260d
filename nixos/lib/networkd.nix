# The hypervisor's per-slot links, generated from infra.json (docs/deployment-data.md).
#
# Value: infra (the parsed infra.json) ->
#   { netdevs = { "<unit>" = ...; }; networks = { "<unit>" = ...; }; }
# shaped like NixOS's `systemd.network.netdevs` and `systemd.network.networks`. Per slot:
#   - netdev  "20-<bridge>": the slot's bridge;
#   - network "20-<bridge>": the bridge carries the slot's gateway address (`<gateway>/<prefixLength>`),
#     even while the VM is down;
#   - network "21-<tap>": the tap that microvm.nix creates for the slot is attached to the bridge by
#     name as soon as it appears (no polling script).
# The 2x prefix sorts these units before NixOS's catch-all `99-*` networks, so they win the match.
#
# Builtins only (no nixpkgs), so CI evaluates it with `nix-instantiate --eval`.
infra:
let
  inherit (builtins) concatMap listToAttrs;

  slots = (import ./validate.nix infra).slots;

  # Slot links carry IPv4 only and never hold up network-online.target.
  quiet = {
    networkConfig = {
      LinkLocalAddressing = "no";
      IPv6AcceptRA = false;
    };
    linkConfig.RequiredForOnline = "no";
  };

  bridgeNetwork = s: {
    matchConfig.Name = s.bridge;
    address = [ "${s.gateway}/${toString s.prefixLength}" ];
    networkConfig = quiet.networkConfig // {
      ConfigureWithoutCarrier = true;
    };
    inherit (quiet) linkConfig;
  };

  tapNetwork = s: {
    matchConfig.Name = s.tap;
    networkConfig = quiet.networkConfig // {
      Bridge = s.bridge;
    };
    inherit (quiet) linkConfig;
  };
in
{
  netdevs = listToAttrs (
    map (s: {
      name = "20-${s.bridge}";
      value.netdevConfig = {
        Kind = "bridge";
        Name = s.bridge;
      };
    }) slots
  );

  networks = listToAttrs (
    concatMap (s: [
      {
        name = "20-${s.bridge}";
        value = bridgeNetwork s;
      }
      {
        name = "21-${s.tap}";
        value = tapNetwork s;
      }
    ]) slots
  );
}
