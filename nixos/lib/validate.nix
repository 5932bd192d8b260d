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
  # What a message quotes of a value: capped, never a secret (lib/redact.ts shown, in Nix).
  inherit (import ./shown.nix) shown key;

  imap = f: xs: genList (i: f i (elemAt xs i)) (length xs);
  bad = path: value: valid: [ "${path}: ${shown value} is not valid; expected ${valid}" ];

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
          list "host.sshPublicKeys" R.sshPublicKey host.sshPublicKeys
      );

  backends = [ "zfs" "xfs" "files" ];
  backend = oneOf backends;
  snapshotCounts = [ "hourly" "daily" "weekly" "monthly" ];
  # A whole number from 1 (vm-state's own check of these keys says the same).
  safetySnapshotsProblems =
    s:
    if !(isAttrs s) then
      bad "storage.safetySnapshots" s "an object such as {\"keep\": 5, \"maxAgeDays\": 30}"
    else
      unknownKeys "storage.safetySnapshots" s [ "keep" "maxAgeDays" ]
      ++ optional "storage.safetySnapshots" R.positive s "keep"
      ++ optional "storage.safetySnapshots" R.positive s "maxAgeDays";
  storageProblems =
    if !(isAttrs storage) then
      bad "storage" storage "an object"
    else
      field "storage" backend storage "backend"
      ++ (
        let
          b = storage.backend or null;
        in
        # zfs and xfs live on the dedicated state volume; files on the root disk.
        if b != "zfs" && b != "xfs" then
          [ ]
        else
          field "storage" (R.absolutePath // { valid = "the state volume's /dev/disk/by-id path (needed by storage.backend ${toJSON b})"; }) storage "device"
      )
      ++ (
        if (storage.backend or null) != "zfs" then
          [ ]
        else
          field "storage" (R.stateName // { valid = "a ZFS pool name (needed by storage.backend \"zfs\")"; }) storage "pool"
      )
      ++ (if (storage.safetySnapshots or null) != null then safetySnapshotsProblems storage.safetySnapshots else [ ])
      ++ optional "storage" R.snapshotId storage "fromSnapshot"
      # The state volume's size in GiB (null with backend "files"): the storage unit's --size-gib.
      ++ optional "storage" (R.positive // { valid = "the state volume's size in GiB, an integer >= 1, or null"; }) storage "volumeGiB"
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
    map (k: "${path}.${key k}: unknown key; expected only ${concatStringsSep ", " known}") (filter (k: !(elem k known)) (attrNames set));
  absent = path: set: key: why: if set ? ${key} then bad "${path}.${key}" set.${key} why else [ ];

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
                # The host's own ports (SSH, the egress proxy): rules.json hostPort, as the program's.
                optional q R.hostPort { hostPort = e.hostPort or e.port or null; } "hostPort"
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
      ++ (
        let
          g = groupBy (e: "${toJSON (e.port or null)} to ${toJSON (e.to or null)}") (filter isAttrs ps);
          one = k: head g.${k};
        in
        map (k: "${at}.publish: port ${shown ((one k).port or null)} to ${shown ((one k).to or null)} is published more than once") (
          filter (k: length g.${k} > 1) (attrNames g)
        )
      );

  modulesProblems =
    at: ms:
    if !(isList ms) then
      bad "${at}.modules" ms "a list of ${R.moduleRef.valid}"
    else
      list "${at}.modules" R.moduleRef ms
      ++ (
        let
          g = groupBy toJSON ms;
        in
        map (k: "${at}.modules: ${shown (head g.${k})} is listed more than once") (filter (k: length g.${k} > 1) (attrNames g))
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
        check (R.cidrContains s.subnet s.${key}) "${at}.${key}: ${shown s.${key}} is not valid; expected an address inside subnet ${shown s.subnet}";
    in
    if !(isAttrs s) then
      bad at s "an object"
    else if own != [ ] then
      own
    else
      check (match ".*/${toString s.prefixLength}" s.subnet != null) "${at}.prefixLength: ${shown s.prefixLength} is not valid; expected the prefix length of subnet ${shown s.subnet}"
      ++ inSubnet "gateway"
      ++ inSubnet "address"
      ++ check (s.gateway != s.address) "${at}.address: ${shown s.address} is not valid; expected an address other than the gateway's"
      ++ check (s.bridge != s.tap) "${at}.tap: ${shown s.tap} is not valid; expected a name other than the bridge's"
      ++ workloadProblems at s;

  slotList = if isList slots then slots else [ ];
  perSlot = concatLists (imap slotProblems slotList);
  # A host may run no slot: a fleet host that only holds replicas (the stack config requires a
  # slot somewhere in the fleet, not on every host).
  slotsShapeProblems = if !(isList slots) then bad "slots" slots "a list of slots" else [ ];

  # Two slots sharing one of these would break isolation (or a unit name); reported naming both.
  uniqueFields = [ "name" "index" "subnet" "gateway" "address" "bridge" "tap" "mac" ];
  label = i: s: if isAttrs s && R.slotName.ok (s.name or null) then s.name else "slots[${toString i}]";
  labelled = imap (i: s: { inherit i s; label = label i s; }) slotList;
  # shared WHY PATH ENTRIES: a problem for each value that several of ENTRIES ({ label; value; }) hold.
  shared =
    why: path: entries:
    let
      groups = groupBy (e: toJSON e.value) entries;
    in
    map (k: "${path}: ${shown (head groups.${k}).value} is used by ${concatStringsSep " and " (map (e: e.label) groups.${k})}; ${why}") (
      filter (k: length groups.${k} > 1) (attrNames groups)
    );
  sharedBy = shared "each slot needs its own";
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
      map (t: "slots[].bridge: ${shown b.s.bridge} is used by ${b.label} and ${t.label} (as its tap); each slot needs its own") (
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

  # The fleet (issue 14): present only on a host of a multi-host stack. Hosts are named by the one
  # name rule and reached at their private (VPC) address; the transfer key is the stack's own,
  # for host-to-host copies only; replicas name fleet hosts. ./fleet.nix builds from it.
  fleet = infra.fleet or null;
  fleetHosts = if isAttrs fleet && isList (fleet.hosts or null) then filter isAttrs fleet.hosts else [ ];
  fleetNames = map (h: h.name or null) fleetHosts;
  namedHosts = concatStringsSep ", " (map toJSON (attrNames (groupBy (n: n) (filter R.fleetHostName.ok fleetNames))));
  fleetHost = {
    ok = v: R.fleetHostName.ok v && elem v fleetNames;
    valid = "the name of one of fleet.hosts (${namedHosts})";
  };
  fleetHostProblems =
    i: h:
    let
      at = "fleet.hosts[${toString i}]";
    in
    if !(isAttrs h) then
      bad at h "an object such as {\"name\": \"big\", \"address\": \"172.20.2.10\", \"backend\": \"zfs\", \"hostKey\": \"ssh-ed25519 AAAA...\"}"
    else
      unknownKeys at h [ "name" "address" "backend" "hostKey" ]
      ++ field at R.fleetHostName h "name"
      ++ field at (R.ipv4 // { valid = "${R.ipv4.valid}: the host's private (VPC) address"; }) h "address"
      ++ field at backend h "backend"
      ++ field at (R.sshPublicKey // { valid = "the host's public SSH host key, such as \"ssh-ed25519 AAAA...\" (vm-state checks the host against it: never trusted on first use)"; }) h "hostKey"
      ++ (
        if (h.name or null) == (fleet.self or null) && (h.backend or null) != (storage.backend or null) && elem (h.backend or null) backends then
          bad "${at}.backend" h.backend "${shown (storage.backend or null)}, this host's storage.backend"
        else
          [ ]
      );
  keepProblems =
    at: k:
    if !(isAttrs k) then
      bad at k "an object such as {\"hourly\": 24, \"daily\": 7}"
    else
      unknownKeys at k snapshotCounts ++ concatLists (map (optional at R.count k) snapshotCounts);
  replicaProblems =
    i: r:
    let
      at = "fleet.replicas[${toString i}]";
    in
    if !(isAttrs r) then
      bad at r "an object such as {\"state\": \"web\", \"from\": \"main\", \"to\": \"big\", \"every\": \"15m\"}"
    else
      unknownKeys at r [ "state" "from" "to" "every" "keep" ]
      ++ field at R.stateName r "state"
      ++ field at fleetHost r "from"
      ++ field at fleetHost r "to"
      ++ check (!(r ? from) || (r.to or null) != r.from) "${at}.to: ${shown (r.to or null)} is not valid; expected a host other than from (${shown r.from})"
      # A replica is received the way its source keeps states (zfs receive, or files and xfs images).
      ++ (
        let
          backendOf = n: (head (filter (h: (h.name or null) == n) fleetHosts ++ [ { } ])).backend or null;
          from = backendOf (r.from or null);
          to = backendOf (r.to or null);
        in
        check (from == null || to == null || from == to)
          "${at}.to: ${shown r.to} is not valid; expected a host with the same storage backend as ${shown r.from} (${shown from}), not ${shown to}"
      )
      ++ field at R.interval r "every"
      ++ (if (r.keep or null) != null then keepProblems "${at}.keep" r.keep else [ ]);
  fleetProblems =
    if fleet == null then
      [ ]
    else if !(isAttrs fleet) then
      bad "fleet" fleet "an object (or no fleet key at all on a one-host stack)"
    else
      unknownKeys "fleet" fleet [ "self" "hosts" "transferKeyFile" "transferPublicKey" "replicas" ]
      ++ (
        if !(isList (fleet.hosts or null)) || length fleet.hosts < 2 then
          bad "fleet.hosts" (fleet.hosts or null) "a list of at least two hosts (a one-host stack has no fleet key)"
        else
          concatLists (imap fleetHostProblems fleet.hosts)
          ++ concatLists (map (f: shared "each host needs its own" "fleet.hosts[].${f}" (hostValues f)) [ "name" "address" "hostKey" ])
      )
      ++ field "fleet" fleetHost fleet "self"
      ++ field "fleet" (R.absolutePath // { valid = "an absolute path (where the deployment installs the fleet's private transfer key, root-only)"; }) fleet "transferKeyFile"
      ++ field "fleet" (R.sshPublicKey // { valid = "the fleet transfer key's public half, ${R.sshPublicKey.valid}"; }) fleet "transferPublicKey"
      ++ (
        let
          rs = fleet.replicas or [ ];
        in
        if !(isList rs) then
          bad "fleet.replicas" rs "a list of { state, from, to, every, keep }"
        else
          concatLists (imap replicaProblems rs)
          # One replication (and one unit, microvm-replicate-<state>) per state.
          ++ shared "each state replicates to one host" "fleet.replicas[].state" (
            filter (e: e.value != null) (imap (i: r: { label = "fleet.replicas[${toString i}]"; value = r.state or null; }) rs)
          )
      );
  hostValues =
    f:
    filter (e: e.value != null) (
      imap (i: h: {
        label = "fleet.hosts[${toString i}]";
        value = h.${f} or null;
      }) fleet.hosts
    );

  problems =
    if !(isAttrs infra) then
      [ "expected an object (the parsed infra.json), got ${typeOf infra}" ]
    else if (infra.version or null) != 1 then
      # Another version may mean anything; nothing else is checked.
      [ "version: ${shown (infra.version or null)} is not valid; expected 1 (the only version this flake reads)" ]
    else
      hostProblems
      ++ storageProblems
      ++ tailscaleProblems
      ++ guestProblems
      ++ fleetProblems
      ++ slotsShapeProblems
      ++ perSlot
      ++ (if perSlot == [ ] then duplicates ++ crossed ++ hostPorts else [ ]);
in
if problems == [ ] then infra else throw (concatStringsSep "\n" (map (p: "infra.json: ${p}") problems))
