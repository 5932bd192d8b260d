# infra (the parsed infra.json, docs/deployment-data.md) -> infra, checked; or an evaluation error
# that lists every problem at once, one line each, in one wording:
#   infra.json: <field>: missing; expected <what is valid>
#   infra.json: <field>: <value> is not valid; expected <what is valid>
#   infra.json: <field>: <value> is used by <slot> and <slot>; each slot needs its own
# The rules themselves live in ./rules.nix. The flake checks infra.json through this before anything
# uses it, and the generators (networkd.nix, nftables.nix, ...) take their slots from it, so nothing
# unchecked is pasted into a ruleset or a unit. Values come from the Pulumi program and are never
# recomputed here.
#
# Builtins only (no nixpkgs), so the tests evaluate it with a bare `nix-instantiate --eval`.
infra:
let
  inherit (builtins)
    attrNames
    concatLists
    concatStringsSep
    elem
    elemAt
    filter
    genList
    groupBy
    head
    isAttrs
    isBool
    isList
    length
    match
    toJSON
    typeOf
    ;

  R = import ./rules.nix;

  imap = f: xs: genList (i: f i (elemAt xs i)) (length xs);
  bad = path: value: valid: [ "${path}: ${toJSON value} is not valid; expected ${valid}" ];

  # field PATH RULE SET KEY: the problems of SET.KEY under RULE (a missing key is one).
  field =
    path: rule: set: key:
    if !(set ? ${key}) then
      [ "${path}.${key}: missing; expected ${rule.valid}" ]
    else if rule.ok set.${key} then
      [ ]
    else
      bad "${path}.${key}" set.${key} rule.valid;
  # optional PATH RULE SET KEY: like field, but an absent key (or null) is fine.
  optional = path: rule: set: key: if (set.${key} or null) == null then [ ] else field path rule set key;
  # list PATH RULE VALUE: VALUE is a list whose every element follows RULE.
  list =
    path: rule: value:
    if !(isList value) then
      bad path value "a list of ${rule.valid}"
    else
      concatLists (imap (i: v: if rule.ok v then [ ] else bad "${path}[${toString i}]" v rule.valid) value);
  object = path: value: if isAttrs value then [ ] else bad path value "an object";
  check = cond: problem: if cond then [ ] else [ problem ];

  host = infra.host or null;
  storage = infra.storage or null;
  tailscale = infra.tailscale or null;
  guest = infra.guest or null;
  slots = infra.slots or null;

  hostProblems =
    if !(isAttrs host) then
      bad "host" host "an object"
    else
      field "host" R.hostName host "hostName"
      ++ field "host" R.hostId host "hostId"
      ++ field "host" R.userName host "adminUser"
      ++ (
        if !(host ? sshPublicKeys) then
          [ "host.sshPublicKeys: missing; expected at least one public key, or nobody can log in" ]
        else if !(isList host.sshPublicKeys) || host.sshPublicKeys == [ ] then
          bad "host.sshPublicKeys" host.sshPublicKeys "at least one public key, or nobody can log in"
        else
          list "host.sshPublicKeys" {
            ok = v: match "(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh.com|sk-ecdsa-sha2-nistp256@openssh.com) [A-Za-z0-9+/]+=* ?[^\n]*" v != null;
            valid = "an OpenSSH public key line such as \"ssh-ed25519 AAAA... you@example\"";
          } host.sshPublicKeys
      );

  backend = {
    ok = v: elem v [ "zfs" "files" ];
    valid = "\"zfs\" or \"files\"";
  };
  snapshotCounts = [ "hourly" "daily" "weekly" "monthly" ];
  storageProblems =
    if !(isAttrs storage) then
      bad "storage" storage "an object"
    else
      field "storage" backend storage "backend"
      ++ (
        if (storage.backend or null) != "zfs" then
          [ ]
        else
          field "storage" (R.absolutePath // { valid = "the state volume's /dev/disk/by-id path (needed by storage.backend \"zfs\")"; }) storage "device"
          ++ field "storage" (R.stateName // { valid = "a ZFS pool name (needed by storage.backend \"zfs\")"; }) storage "pool"
      )
      ++ (
        let
          snaps = storage.autoSnapshots or [ ];
        in
        if !(isList snaps) then
          bad "storage.autoSnapshots" snaps "a list of { state, hourly, daily, weekly, monthly }"
        else
          concatLists (
            imap (
              i: s:
              let
                at = "storage.autoSnapshots[${toString i}]";
              in
              if !(isAttrs s) then
                bad at s "an object"
              else
                field at R.stateName s "state" ++ concatLists (map (optional at R.count s) snapshotCounts)
            ) snaps
          )
      );

  tailscaleProblems =
    if !(isAttrs tailscale) then
      bad "tailscale" tailscale "an object"
    else
      field "tailscale" {
        ok = isBool;
        valid = "true or false";
      } tailscale "enabled"
      ++ field "tailscale" R.hostName tailscale "hostname"
      ++ (if tailscale ? tags then list "tailscale.tags" R.tag tailscale.tags else [ ])
      ++ (if tailscale ? advertiseRoutes then list "tailscale.advertiseRoutes" R.cidr tailscale.advertiseRoutes else [ ])
      ++ (
        if (tailscale.enabled or false) == true then
          field "tailscale" (R.absolutePath // { valid = "an absolute path (needed when tailscale.enabled is true)"; }) tailscale "authKeyFile"
        else
          [ ]
      );

  guestProblems = if !(isAttrs guest) then bad "guest" guest "an object" else field "guest" R.filesystemLabel guest "dataLabel";

  # The fields of a slot, each with its rule.
  slotRules = {
    name = R.slotName;
    index = R.slotIndex;
    subnet = R.cidr;
    prefixLength = R.prefixLength;
    gateway = R.ipv4;
    address = R.ipv4;
    bridge = R.interfaceName;
    tap = R.interfaceName;
    mac = R.mac;
    vcpu = R.positive;
    memMiB = R.positive;
    diskGiB = R.positive;
  };

  # The optional workload fields of a slot (issue 13); their defaults are in ./slot-defaults.nix.
  oneOf = values: {
    ok = v: elem v values;
    valid = concatStringsSep " or " (map toJSON values);
  };
  unknownKeys =
    path: set: known:
    map (k: "${path}.${k}: unknown key; expected only ${concatStringsSep ", " known}") (filter (k: !(elem k known)) (attrNames set));
  absent = path: set: key: why: if set ? ${key} then bad "${path}.${key}" set.${key} why else [ ];
  # The host's own SSH: a published port there would take it from the operators.
  reservedHostPorts = [ 22 ];

  egressProblems =
    at: e:
    let
      p = "${at}.egress";
      policy = e.policy or null;
    in
    if !(isAttrs e) then
      bad p e "an object such as {\"policy\": \"internet\"}"
    else
      unknownKeys p e [ "policy" "domains" ]
      ++ field p (oneOf [ "internet" "none" "allowlist" ]) e "policy"
      ++ (
        if policy != "allowlist" then
          absent p e "domains" "no domains unless policy is \"allowlist\""
        else if !(isList (e.domains or null)) || e.domains == [ ] then
          bad "${p}.domains" (e.domains or null) "a non-empty list, each ${R.domain.valid}"
        else
          list "${p}.domains" R.domain e.domains
      );

  publishProblems =
    at: ps:
    if !(isList ps) then
      bad "${at}.publish" ps "a list of { port, to, hostPort, sources }"
    else
      concatLists (
        imap (
          j: e:
          let
            q = "${at}.publish[${toString j}]";
            to = e.to or null;
          in
          if !(isAttrs e) then
            bad q e "an object such as {\"port\": 8080, \"to\": \"tailnet\"}"
          else
            unknownKeys q e [ "port" "to" "hostPort" "sources" ]
            ++ field q R.port e "port"
            ++ field q (oneOf [ "tailnet" "internet" ]) e "to"
            ++ (
              if to == "internet" then
                optional q R.port e "hostPort"
                ++ check (!(elem (e.hostPort or e.port or null) reservedHostPorts))
                  "${q}.hostPort: ${toJSON (e.hostPort or e.port)} is not valid; expected a port other than ${concatStringsSep ", " (map toString reservedHostPorts)} (the host's SSH)"
                ++ (
                  if !(isList (e.sources or null)) || e.sources == [ ] then
                    bad "${q}.sources" (e.sources or null) "a non-empty list of the addresses allowed in, each ${R.cidr.valid}"
                  else
                    list "${q}.sources" R.cidr e.sources
                )
              else
                absent q e "hostPort" "no hostPort unless to is \"internet\""
                ++ absent q e "sources" "no sources unless to is \"internet\" (the tailnet's policy decides who reaches a tailnet port)"
            )
        ) ps
      )
      ++ map (k: "${at}.publish: port ${k} is published more than once") (
        let
          g = groupBy (e: "${toJSON (e.port or null)} to ${toJSON (e.to or null)}") (filter isAttrs ps);
        in
        filter (k: length g.${k} > 1) (attrNames g)
      );

  modulesProblems =
    at: ms:
    if !(isList ms) then
      bad "${at}.modules" ms "a list of ${R.moduleRef.valid}"
    else
      list "${at}.modules" R.moduleRef ms
      ++ map (m: "${at}.modules: ${m} is listed more than once") (
        let
          g = groupBy toJSON ms;
        in
        filter (k: length g.${k} > 1) (attrNames g)
      );

  workloadProblems =
    at: s:
    (if (s.egress or null) != null then egressProblems at s.egress else [ ])
    ++ (if (s.publish or null) != null then publishProblems at s.publish else [ ])
    ++ (if (s.modules or null) != null then modulesProblems at s.modules else [ ]);

  slotProblems =
    i: s:
    let
      at = "slots[${toString i}]";
      own = concatLists (map (f: field at slotRules.${f} s f) (attrNames slotRules));
      inSubnet =
        key:
        check (R.cidrContains s.subnet s.${key}) "${at}.${key}: ${toJSON s.${key}} is not valid; expected an address inside subnet ${s.subnet}";
    in
    if !(isAttrs s) then
      bad at s "an object"
    else if own != [ ] then
      own
    else
      check (match ".*/${toString s.prefixLength}" s.subnet != null) "${at}.prefixLength: ${toJSON s.prefixLength} is not valid; expected the prefix length of subnet ${s.subnet}"
      ++ inSubnet "gateway"
      ++ inSubnet "address"
      ++ check (s.gateway != s.address) "${at}.address: ${toJSON s.address} is not valid; expected an address other than the gateway's"
      ++ check (s.bridge != s.tap) "${at}.tap: ${toJSON s.tap} is not valid; expected a name other than the bridge's"
      ++ workloadProblems at s;

  slotList = if isList slots then slots else [ ];
  perSlot = concatLists (imap slotProblems slotList);
  slotsShapeProblems =
    if !(isList slots) then
      bad "slots" slots "a list of slots"
    else
      check (slots != [ ]) "slots: [] is not valid; expected at least one slot";

  # Two slots sharing one of these would break isolation (or a unit name); reported naming both.
  uniqueFields = [ "name" "index" "subnet" "gateway" "address" "bridge" "tap" "mac" ];
  label = i: s: if isAttrs s && R.slotName.ok (s.name or null) then s.name else "slots[${toString i}]";
  labelled = imap (i: s: { inherit i s; label = label i s; }) slotList;
  sharedBy =
    path: entries:
    let
      groups = groupBy (e: toJSON e.value) entries;
    in
    map (k: "${path}: ${k} is used by ${concatStringsSep " and " (map (e: e.label) groups.${k})}; each slot needs its own") (
      filter (k: length groups.${k} > 1) (attrNames groups)
    );
  duplicates = concatLists (
    map (
      f:
      sharedBy "slots[].${f}" (
        map (e: { inherit (e) label; value = e.s.${f}; }) (filter (e: isAttrs e.s && e.s ? ${f}) labelled)
      )
    ) uniqueFields
  );
  # A bridge may not be named like another slot's tap: networkd would match both.
  crossed = concatLists (
    map (
      b:
      map (t: "slots[].bridge: ${toJSON b.s.bridge} is used by ${b.label} and ${t.label} (as its tap); each slot needs its own") (
        filter (t: t.s.tap == b.s.bridge) labelled
      )
    ) labelled
  );

  # Two slots publishing the same host port to the internet: one DNAT rule would hide the other.
  hostPorts = sharedBy "slots[].publish[].hostPort" (
    concatLists (
      map (
        e:
        map (p: { inherit (e) label; value = p.hostPort or p.port; }) (
          filter (p: p.to == "internet") (e.s.publish or [ ])
        )
      ) labelled
    )
  );

  problems =
    if !(isAttrs infra) then
      [ "expected an object (the parsed infra.json), got ${typeOf infra}" ]
    else if (infra.version or null) != 1 then
      # Another version may mean anything; nothing else is checked.
      [ "version: ${toJSON (infra.version or null)} is not valid; expected 1 (the only version this flake reads)" ]
    else
      hostProblems
      ++ storageProblems
      ++ tailscaleProblems
      ++ guestProblems
      ++ slotsShapeProblems
      ++ perSlot
      ++ (if perSlot == [ ] then duplicates ++ crossed ++ hostPorts else [ ]);
in
if problems == [ ] then infra else throw (concatStringsSep "\n" (map (p: "infra.json: ${p}") problems))
