# { infra, inputs, guestsDir ? ../guests } -> { <slot> = [ { ref; kind; ...; module; } ]; }: the NixOS
# modules each slot's `modules` names, resolved, for modules/slots.nix to import into that slot's
# guest system only.
#   "guests/<name>"  kind "repository": the file nixos/guests/<name>.nix (guestsDir + "/<name>.nix")
#   "<input>#<attr>" kind "input": inputs.<input>.nixosModules.<attr>, a flake input of nixos/flake.nix
#   "<input>"        the same with attr "default"
# A reference that does not resolve stops the evaluation naming the slot and the reference.
#
# Builtins only: the tests pass stand-in inputs and evaluate the mapping without nixpkgs.
{
  infra,
  inputs,
  guestsDir ? ../guests,
}:
let
  inherit (builtins) elemAt listToAttrs match pathExists;

  slots = import ./slot-defaults.nix infra;

  resolve =
    slot: ref:
    let
      repo = match "guests/(.*)" ref;
      input = match "([^#]+)(#(.*))?" ref;
      fail = why: throw "infra.json: slot ${slot.name}: module ${builtins.toJSON ref}: ${why}";
    in
    if repo != null then
      let
        file = guestsDir + "/${elemAt repo 0}.nix";
      in
      if pathExists file then
        {
          inherit ref;
          kind = "repository";
          file = "guests/${elemAt repo 0}.nix";
          module = file;
        }
      else
        fail "nixos/guests/${elemAt repo 0}.nix does not exist"
    else
      let
        name = elemAt input 0;
        attr = if elemAt input 2 == null then "default" else elemAt input 2;
      in
      if !(inputs ? ${name}) || name == "self" then
        fail "no flake input \"${name}\" (add it to nixos/flake.nix's inputs and lock it)"
      else if !((inputs.${name}.nixosModules or { }) ? ${attr}) then
        fail "flake input \"${name}\" has no nixosModules.${attr}"
      else
        {
          inherit ref;
          kind = "input";
          inherit attr;
          input = name;
          module = inputs.${name}.nixosModules.${attr};
        };
in
listToAttrs (map (s: { name = s.name; value = map (resolve s) s.modules; }) slots)
