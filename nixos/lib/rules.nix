# The one definition, in Nix, of every rule a value of infra.json must follow: names, addresses,
# CIDRs, tags, domains. Each rule is { ok = value -> bool; valid = "what a valid value looks like"; }.
# lib/validate.nix applies them (one wording for every failure). The rules the stack config applies
# too (names, host names, users, tags, snapshot ids, domains, host ports, module references, SSH
# keys) are built from ../rules/rules.json, the data lib/rules.ts reads; the tests run the shared
# accept/reject tables tests/fixtures/names.json and tests/fixtures/rules.json through them.
#
# Builtins only (no nixpkgs), so the tests evaluate it with a bare `nix-instantiate --eval`.
let
  inherit (builtins)
    concatStringsSep
    elem
    elemAt
    fromJSON
    genList
    isInt
    isString
    match
    stringLength
    ;

  mod = a: b: a - (a / b) * b;

  shared = fromJSON (builtins.readFile ../rules/rules.json);

  matches = re: v: isString v && match re v != null;

  # Lower-case letters, digits and '-', starting with a letter, not ending with '-' (names.json).
  name =
    kind: v:
    matches shared.name.pattern v && stringLength v <= shared.name.maxLength.${kind} && !(elem v shared.name.reserved.${kind});
  nameValid =
    kind:
    "1 to ${toString shared.name.maxLength.${kind}} characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'"
    + concatStringsSep "" (map (r: ", not \"${r}\"") shared.name.reserved.${kind});

  octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  ipv4Re = "${octet}\\.${octet}\\.${octet}\\.${octet}";
  pow2 = n: builtins.foldl' (acc: _: acc * 2) 1 (genList (x: x) n);

  # "a.b.c.d" -> the address as an integer (the regex rules out leading zeros, so fromJSON reads them).
  ipv4ToInt =
    s:
    let
      m = match ipv4Re s;
      o = i: fromJSON (elemAt m i);
    in
    ((o 0 * 256 + o 1) * 256 + o 2) * 256 + o 3;

  # "a.b.c.d/n" -> { base; prefix; size; } or null when it is not an IPv4 CIDR.
  parseCidr =
    s:
    let
      m = if isString s then match "(${ipv4Re})/([0-9]|[12][0-9]|3[0-2])" s else null;
      prefix = fromJSON (elemAt m 5);
    in
    if m == null then
      null
    else
      {
        base = ipv4ToInt (elemAt m 0);
        inherit prefix;
        size = pow2 (32 - prefix);
      };

  isNetworkCidr =
    s:
    let
      c = parseCidr s;
    in
    c != null && c.base - (c.base / c.size) * c.size == 0;

  sshKeyRe =
    "(${concatStringsSep "|" (map (builtins.replaceStrings [ "." ] [ "[.]" ]) shared.sshPublicKey.types)}) ${shared.sshPublicKey.blob}${shared.sshPublicKey.comment}";
in
rec {
  # True when the IPv4 address `address` lies inside the CIDR `cidr` (both already valid).
  cidrContains =
    cidr: address:
    let
      c = parseCidr cidr;
      a = ipv4ToInt address;
    in
    a >= c.base && a < c.base + c.size;

  slotName = {
    # br-<slot> and vm-<slot> must fit Linux's 15-character interface names; "states" is where
    # vm-state keeps the states, next to the slots' directories.
    ok = name "slot";
    valid = "a slot name: ${nameValid "slot"}";
  };
  stateName = {
    ok = name "state";
    valid = "a state name: ${nameValid "state"}";
  };
  # A host of the fleet (infra.json `fleet.hosts[].name`, `replicate --to <host>`): the slot rule,
  # as the program's (its hosts name resources and tailnet devices); names.json's "host" column.
  fleetHostName = {
    ok = name "host";
    valid = "a host name: ${nameValid "host"}";
  };
  snapshotName = {
    ok = name "snapshot";
    valid = "a snapshot name: ${nameValid "snapshot"}";
  };
  # storage.fromSnapshot: the EBS snapshot the state volume was made from (a restore onto a new
  # host, hosts.<name>.storage.fromSnapshot in the stack config), as AWS writes snapshot ids.
  # Optional, hence "or null" in what is valid.
  snapshotId = {
    ok = matches shared.snapshotId.pattern;
    valid = "${shared.snapshotId.valid}, or null";
  };

  ipv4 = {
    ok = matches ipv4Re;
    valid = "an IPv4 address such as \"10.1.0.1\"";
  };
  cidr = {
    ok = isNetworkCidr;
    valid = "an IPv4 network CIDR such as \"10.1.0.0/24\" (no host bits set)";
  };
  interfaceName = {
    ok = v: matches "[A-Za-z0-9_.-]{1,15}" v && v != "tailscale0" && v != "lo";
    valid = "an interface name of 1 to 15 characters from A-Z a-z 0-9 . _ - (not tailscale0 or lo)";
  };
  mac = {
    ok = matches "([0-9a-f]{2}:){5}[0-9a-f]{2}";
    valid = "six lower-case hex pairs such as \"02:00:0a:01:00:02\"";
  };
  hostId = {
    ok = matches "[0-9a-f]{8}";
    valid = "8 lower-case hex digits (networking.hostId)";
  };
  hostName = {
    ok = matches shared.dnsLabel.pattern;
    valid = shared.dnsLabel.valid;
  };
  # The operators' login: a Linux user name that is not an account NixOS or our modules create.
  userName = {
    ok = v: matches shared.userName.pattern v && !(elem v shared.userName.reserved) && !(matches shared.userName.reservedPattern v);
    valid = "${shared.userName.valid}, not an account NixOS or these modules create (root, nobody, sshd, nginx, microvm, messagebus, ...: nixos/rules/rules.json)";
  };
  tag = {
    ok = matches shared.tag.pattern;
    valid = shared.tag.valid;
  };
  # A public key line as authorized_keys and known_hosts carry it: type, key, optional comment.
  sshPublicKey = {
    ok = matches sshKeyRe;
    valid = shared.sshPublicKey.valid;
  };
  absolutePath = {
    ok = matches "/[A-Za-z0-9_./@:+-]*";
    valid = "an absolute path";
  };
  filesystemLabel = {
    ok = matches "[A-Za-z0-9_-]{1,16}";
    valid = "an ext4 label of 1 to 16 characters from A-Z a-z 0-9 _ -";
  };
  positive = {
    ok = v: isInt v && v >= 1;
    valid = "an integer >= 1";
  };
  count = {
    ok = v: isInt v && v >= 0;
    valid = "an integer >= 0";
  };
  slotIndex = {
    ok = v: isInt v && v >= 1 && v <= 254;
    valid = "an integer from 1 to 254";
  };
  prefixLength = {
    ok = v: isInt v && v >= 1 && v <= 30;
    valid = "an integer from 1 to 30";
  };
  port = {
    ok = v: isInt v && v >= 1 && v <= 65535;
    valid = "a TCP port from 1 to 65535";
  };
  # An egress allowlist entry: an exact name, or "*." and a name of at least two labels (any
  # deeper name matches, the name itself does not). Lower case; no IP addresses.
  domain = {
    ok = v: isString v && stringLength v <= shared.domain.maxLength && matches shared.domain.pattern v;
    valid = shared.domain.valid;
  };
  # A port a slot may publish on the host: not one the host keeps for itself.
  hostPort = {
    ok = v: port.ok v && builtins.all (r: v < r.from || v > r.to) shared.hostPort.reserved;
    valid = shared.hostPort.valid;
  };
  # A guest module: "guests/<name>" (nixos/guests/<name>.nix) or "<input>[#<attr>]" (a flake input's
  # nixosModules.<attr>, "default" when no attr is given). `parse` is the one reading of it
  # (./guest-modules.nix resolves what it returns).
  moduleRef = rec {
    parse =
      v:
      let
        repo = if isString v then match shared.moduleRef.repository v else null;
        input = if isString v then match shared.moduleRef.input v else null;
      in
      if repo != null then
        {
          kind = "repository";
          name = elemAt repo 0;
        }
      else if input != null then
        {
          kind = "input";
          input = elemAt input 0;
          attr = if elemAt input 2 == null then shared.moduleRef.defaultAttr else elemAt input 2;
        }
      else
        null;
    ok = v: parse v != null;
    valid = shared.moduleRef.valid;
  };

  # A replication period, "<N>m", "<N>h" or "<N>d", in minutes; null when it is not one.
  intervalMinutes =
    v:
    let
      m = if isString v then match "([1-9][0-9]{0,5})([mhd])" v else null;
    in
    if m == null then
      null
    else
      fromJSON (elemAt m 0)
      * {
        m = 1;
        h = 60;
        d = 1440;
      }.${elemAt m 1};
  # Periods that run on the clock (systemd OnCalendar, so a run missed while the host was down is
  # caught up at boot): from 5 minutes, a divisor of an hour or a whole number of hours that
  # divides a day. The table tests/fixtures/intervals.json.
  interval = {
    ok =
      v:
      let
        minutes = intervalMinutes v;
      in
      minutes != null && minutes >= 5 && (mod 60 minutes == 0 || (mod minutes 60 == 0 && mod 1440 minutes == 0));
    valid = "\"<N>m\", \"<N>h\" or \"<N>d\" that divides an hour or a day evenly, from 5 minutes: 5m, 6m, 10m, 12m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h or 1d (60m and 24h are the same as 1h and 1d)";
  };

  # names.json's kinds, by the names the table uses.
  names = {
    slot = slotName.ok;
    host = fleetHostName.ok;
    state = stateName.ok;
    snapshot = snapshotName.ok;
  };

}
