# The slot table of infra.json (docs/deployment-data.md), checked before the network generators
# (nftables.nix, networkd.nix) paste its values into a ruleset or into unit files.
#
# Value: infra -> infra.slots, unchanged, or an evaluation error that names the bad field and says
# what would be valid. Only the fields the generators use are checked, and only for their form:
# the values come from the Pulumi program and are never recomputed here.
#
# Builtins only (no nixpkgs), so CI evaluates it with a bare `nix-instantiate --eval`.
infra:
let
  inherit (builtins)
    attrNames
    concatStringsSep
    elemAt
    filter
    genList
    groupBy
    head
    isAttrs
    isInt
    isList
    isString
    length
    match
    toJSON
    typeOf
    ;

  fail = field: message: throw "infra.json: ${field}: ${message}";

  octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  ipv4 = "${octet}\\.${octet}\\.${octet}\\.${octet}";
  matches = re: value: isString value && match re value != null;

  # Each checked field: a predicate and what a valid value looks like.
  rules = {
    name = {
      ok = matches "[A-Za-z0-9][A-Za-z0-9_-]{0,62}";
      valid = "a name of letters, digits, '_' and '-'";
    };
    index = {
      ok = v: isInt v && v >= 1;
      valid = "an integer >= 1";
    };
    subnet = {
      ok = matches "${ipv4}/([0-9]|[12][0-9]|3[0-2])";
      valid = "an IPv4 CIDR such as \"10.1.0.0/24\"";
    };
    prefixLength = {
      ok = v: isInt v && v >= 1 && v <= 30;
      valid = "an integer from 1 to 30";
    };
    gateway = {
      ok = matches ipv4;
      valid = "an IPv4 address such as \"10.1.0.1\"";
    };
    address = {
      ok = matches ipv4;
      valid = "an IPv4 address such as \"10.1.0.2\"";
    };
    bridge = {
      ok = v: matches "[A-Za-z0-9_.-]{1,15}" v && v != "tailscale0" && v != "lo";
      valid = "an interface name of 1 to 15 characters from A-Z a-z 0-9 . _ - (not tailscale0 or lo)";
    };
    tap = rules.bridge;
  };

  checkSlot =
    i: slot:
    let
      at = "slots[${toString i}]";
      bad = filter (f: !(slot ? ${f}) || !(rules.${f}.ok slot.${f})) (attrNames rules);
      f = head bad;
    in
    if !(isAttrs slot) then
      fail at "expected an object, got ${typeOf slot}"
    else if bad != [ ] then
      fail "${at}.${f}" "${
        if slot ? ${f} then "${toJSON slot.${f}} is not valid" else "missing"
      }; expected ${rules.${f}.valid}"
    else if match ".*/${toString slot.prefixLength}" slot.subnet == null then
      fail "${at}.prefixLength" "${toString slot.prefixLength} does not match subnet ${slot.subnet}"
    else
      slot;

  slots = infra.slots or null;
  checked = genList (i: checkSlot i (elemAt slots i)) (length slots);

  # Two slots sharing a name, index, subnet, gateway, bridge or tap would break isolation.
  duplicates =
    field:
    let
      groups = groupBy (s: toJSON s.${field}) checked;
    in
    filter (k: length groups.${k} > 1) (attrNames groups);
  uniqueFields = [
    "name"
    "index"
    "subnet"
    "gateway"
    "bridge"
    "tap"
  ];
  clashes = filter (f: duplicates f != [ ]) uniqueFields;
  interfaces = map (s: s.bridge) checked ++ map (s: s.tap) checked;
  sharedNames = filter (n: length (filter (m: m == n) interfaces) > 1) interfaces;
in
if !(isAttrs infra) then
  throw "infra.json: expected an object (the parsed infra.json), got ${typeOf infra}"
else if (infra.version or null) != 1 then
  fail "version" "${toJSON (infra.version or null)} is not supported; expected 1"
else if !(isList slots) then
  fail "slots" "expected a list of slots, got ${typeOf slots}"
else if clashes != [ ] then
  let
    f = head clashes;
  in
  fail "slots[].${f}" "${concatStringsSep ", " (duplicates f)} is used by more than one slot; each slot needs its own"
else if sharedNames != [ ] then
  fail "slots[]" "interface ${toJSON (head sharedNames)} is both a bridge and a tap; they must differ"
else
  checked
