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
  inherit (builtins) listToAttrs pathExists;

  slots = import ./slot-defaults.nix infra;
  # The one reading of a reference (rules.json moduleRef, as the program's).
  parse = (import ./rules.nix).moduleRef.parse;
  inherit (import ./shown.nix) shown;

  resolve =
    slot: ref:
    let
      parsed = parse ref;
      fail = why: throw "infra.json: slot ${slot.name}: module ${shown ref}: ${why}";
    in
    if parsed == null then
      fail "not a module reference (validate.nix refuses it)"
    else if parsed.kind == "repository" then
      let
        file = guestsDir + "/${parsed.name}.nix";
      in
      if pathExists file then
        {
          inherit ref;
          kind = "repository";
          file = "guests/${parsed.name}.nix";
          module = file;
        }
      else
        fail "nixos/guests/${parsed.name}.nix does not exist"
    else
      let
        name = parsed.input;
        inherit (parsed) attr;
      in
      if !(inputs ? ${name}) || name == "self" then
        fail "no flake input ${shown name} (add it to nixos/flake.nix's inputs and lock it)"
      else if !((inputs.${name}.nixosModules or { }) ? ${attr}) then
        fail "flake input ${shown name} has no nixosModules.${attr}"
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
