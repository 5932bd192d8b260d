# The one definition, in Nix, of every rule a value of infra.json must follow: names, addresses,
# CIDRs, tags, domains. Each rule is { ok = value -> bool; valid = "what a valid value looks like"; }.
# lib/validate.nix applies them (one wording for every failure); the tests run the shared
# accept/reject table tests/fixtures/names.json through `slotName`, `stateName` and `snapshotName`.
#
# Builtins only (no nixpkgs), so the tests evaluate it with a bare `nix-instantiate --eval`.
let
  inherit (builtins)
    elemAt
    fromJSON
    genList
    isInt
    isString
    match
    stringLength
    ;

  mod = a: b: a - (a / b) * b;

  matches = re: v: isString v && match re v != null;

  # Lower-case letters, digits and '-', starting with a letter, not ending with '-' (names.json).
  name = maxLength: v: matches "[a-z]([a-z0-9-]*[a-z0-9])?" v && stringLength v <= maxLength;
  nameValid = maxLength: "1 to ${toString maxLength} characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'";

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

  # A DNS label; the last label of a domain must start with a letter, so no IP address passes.
  label = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
  domainRe = "(${label}\\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?";
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
    ok = v: name 12 v && v != "states";
    valid = "a slot name: ${nameValid 12}, not \"states\"";
  };
  stateName = {
    ok = name 63;
    valid = "a state name: ${nameValid 63}";
  };
  # A host of the fleet (infra.json `fleet.hosts[].name`, `replicate --to <host>`): the slot rule,
  # as the program's (its hosts name resources and tailnet devices); names.json's "host" column.
  fleetHostName = {
    ok = v: name 12 v && v != "states";
    valid = "a host name: ${nameValid 12}, not \"states\"";
  };
  snapshotName = {
    ok = name 63;
    valid = "a snapshot name: ${nameValid 63}";
  };
  # storage.fromSnapshot: the EBS snapshot the state volume was made from (a restore onto a new
  # host, hosts.<name>.storage.fromSnapshot in the stack config), as AWS writes snapshot ids.
  # Optional, hence "or null" in what is valid.
  snapshotId = {
    ok = matches "snap-[0-9a-f]{8}([0-9a-f]{9})?";
    valid = "an EBS snapshot id, \"snap-\" and 8 or 17 lowercase hex digits (such as \"snap-0123456789abcdef0\"), or null";
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
    ok = v: matches label v;
    valid = "a host name of 1 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'";
  };
  userName = {
    ok = matches "[a-z_][a-z0-9_-]{0,31}";
    valid = "a user name of 1 to 32 characters of a-z, 0-9, '_' and '-', starting with a letter or '_'";
  };
  tag = {
    ok = matches "tag:[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?";
    valid = "a Tailscale tag such as \"tag:microvm-host\" (letters, digits, '-')";
  };
  # A public key line as authorized_keys and known_hosts carry it: type, key, optional comment.
  sshPublicKey = {
    ok = matches "(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh.com|sk-ecdsa-sha2-nistp256@openssh.com) [A-Za-z0-9+/]+=* ?[^\n]*";
    valid = "an OpenSSH public key line such as \"ssh-ed25519 AAAA... you@example\"";
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
    ok = v: isString v && stringLength v <= 253 && (matches domainRe v || matches "\\*\\.${domainRe}" v);
    valid = "a lower-case domain name such as \"github.com\", or \"*.\" and a domain of at least two labels such as \"*.githubusercontent.com\"";
  };
  # A guest module: "guests/<name>" (nixos/guests/<name>.nix) or "<input>[#<attr>]" (a flake input's
  # nixosModules.<attr>, "default" when no attr is given).
  moduleRef = {
    ok = v: matches "guests/[a-z0-9][a-z0-9_-]*" v || matches "[A-Za-z][A-Za-z0-9_-]*(#[A-Za-z_][A-Za-z0-9_'-]*)?" v;
    valid = "\"guests/<name>\" (a file nixos/guests/<name>.nix) or \"<input>#<attr>\" (a flake input's nixosModules.<attr>; \"<input>\" alone means #default)";
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
