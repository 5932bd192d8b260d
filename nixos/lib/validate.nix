# infra (parsed infra.json) -> infra, or an evaluation error naming the field and what is valid.
# Builtins only: the tests evaluate it with nix-instantiate and no nixpkgs.
infra:
let
  inherit (builtins) all elem filter hasAttr isAttrs isInt isList isString length match toJSON;
  fail = msg: throw "infra.json: ${msg}";
  need = cond: msg: if cond then true else fail msg;
  field = where: set: name: if isAttrs set && hasAttr name set then set.${name} else fail "${where}.${name} is missing";
  str = where: set: name: let v = field where set name; in if isString v && v != "" then v else fail "${where}.${name} must be a non-empty string, got ${toJSON v}";
  posInt = where: set: name: let v = field where set name; in if isInt v && v > 0 then v else fail "${where}.${name} must be a positive integer, got ${toJSON v}";
  dupes = xs: filter (x: length (filter (y: y == x) xs) > 1) xs;

  host = field "infra" infra "host";
  storage = field "infra" infra "storage";
  tailscale = field "infra" infra "tailscale";
  guest = field "infra" infra "guest";
  slots = field "infra" infra "slots";
  backend = field "storage" storage "backend";

  checkSlot = i: s:
    let where = "slots[${toString i}]"; name = str where s "name"; in
    all (x: x) [
      (need (match "[a-z][a-z0-9-]{0,14}" name != null)
        "${where}.name \"${name}\" must match [a-z][a-z0-9-]{0,14} (it names units, bridges and taps)")
      (posInt where s "index" > 0)
      (posInt where s "vcpu" > 0)
      (posInt where s "memMiB" > 0)
      (posInt where s "diskGiB" > 0)
      (posInt where s "prefixLength" > 0)
      (all (f: str where s f != "") [ "subnet" "gateway" "address" "bridge" "tap" ])
      (need (match "([0-9a-f]{2}:){5}[0-9a-f]{2}" (str where s "mac") != null)
        "${where}.mac \"${s.mac}\" must be six lower-case hex pairs such as 02:00:0a:01:00:02")
    ];
  names = map (s: s.name) slots;
  indexes = map (s: toString s.index) slots;

  checks = [
    (need ((infra.version or null) == 1) "version is ${toJSON (infra.version or null)}; this flake reads version 1 only")
    (need (match "[0-9a-f]{8}" (str "host" host "hostId") != null)
      "host.hostId \"${host.hostId}\" must be 8 lower-case hex digits (networking.hostId)")
    (str "host" host "hostName" != "")
    (str "host" host "adminUser" != "")
    (need (isList (field "host" host "sshPublicKeys") && host.sshPublicKeys != [])
      "host.sshPublicKeys must list at least one public key, or nobody can log in")
    (need (elem backend [ "zfs" "files" ]) "storage.backend is ${toJSON backend}; valid values: \"zfs\", \"files\"")
    (need (backend != "zfs" || isString (storage.device or null))
      "storage.device must be the state volume's /dev/disk/by-id path when storage.backend is \"zfs\"")
    (need (backend != "zfs" || isString (storage.pool or null)) "storage.pool is missing (needed by storage.backend \"zfs\")")
    (need (isList (storage.autoSnapshots or [ ])) "storage.autoSnapshots must be a list")
    (need (builtins.isBool (tailscale.enabled or null)) "tailscale.enabled must be true or false")
    (need (!tailscale.enabled || isString (tailscale.authKeyFile or null))
      "tailscale.authKeyFile is missing (needed when tailscale.enabled is true)")
    (str "guest" guest "dataLabel" != "")
    (need (isList slots && slots != [ ]) "slots must list at least one slot")
    (all (x: x) (builtins.genList (i: checkSlot i (builtins.elemAt slots i)) (length slots)))
    (need (dupes names == [ ]) "slot names must be unique; repeated: ${toJSON (dupes names)}")
    (need (dupes indexes == [ ]) "slot indexes must be unique; repeated: ${toJSON (dupes indexes)}")
  ];
in
if all (x: x) checks then infra else fail "invalid"
