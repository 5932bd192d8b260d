#!/usr/bin/env bats
# nixos/lib/validate.nix, the one check of infra.json in Nix: every fixture passes unchanged; bad data
# stops the evaluation with every problem listed, each naming its field.
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
}

@test "every fixture and nixos/infra.json pass unchanged" {
  for f in "$FIXTURES"/*.json "$NIXOS/infra.json"; do
    run --separate-stderr generate validate "$f"
    [ "$status" -eq 0 ] || { echo "$f: $stderr" >&2; return 1; }
    [ "$(jq -S -c . <<<"$output")" = "$(jq -S -c . "$f")" ]
  done
}

# rejects EDIT FIELD...: validate.nix fails on five-slots.json edited by EDIT (infra -> infra), with
# one "infra.json: FIELD: ..." line for each FIELD.
rejects() {
  local edit=$1 f
  shift
  run --separate-stderr generate validate "$FIXTURES/five-slots.json" "$edit"
  [ "$status" -ne 0 ] || { echo "accepted: $edit" >&2; return 1; }
  for f in "$@"; do
    grep -qF "infra.json: $f: " <<<"$stderr" || { echo "no problem reported for $f in: $stderr" >&2; return 1; }
  done
}

slot0() { echo "infra: infra // { slots = [ ((builtins.head infra.slots) // $1) ] ++ builtins.tail infra.slots; }"; }

@test "each kind of bad value is refused, naming its field" {
  rejects 'infra: infra // { version = 2; }' version
  rejects 'infra: infra // { storage = infra.storage // { backend = "lvm"; }; }' storage.backend
  rejects 'infra: infra // { storage = infra.storage // { device = null; }; }' storage.device
  rejects 'infra: infra // { host = infra.host // { hostId = "xyz"; }; }' host.hostId
  rejects 'infra: infra // { host = infra.host // { sshPublicKeys = [ ]; }; }' host.sshPublicKeys
  rejects 'infra: removeAttrs infra [ "slots" ]' slots
  rejects 'infra: removeAttrs infra [ "guest" ]' guest
  rejects "$(slot0 '{ name = "Slot 1"; }')" 'slots[0].name'
  rejects "$(slot0 '{ memMiB = 0; }')" 'slots[0].memMiB'
  rejects "$(slot0 '{ mac = "2:0:a:1:0:2"; }')" 'slots[0].mac'
  rejects "$(slot0 '{ address = "10.1.0.256"; }')" 'slots[0].address'
  rejects "$(slot0 '{ address = "10.9.0.2"; }')" 'slots[0].address'
  rejects "$(slot0 '{ prefixLength = 16; }')" 'slots[0].prefixLength'
  rejects 'infra: infra // { slots = [ (removeAttrs (builtins.head infra.slots) [ "gateway" ]) ]; }' 'slots[0].gateway'
  rejects "$(slot0 '{ index = 255; }')" 'slots[0].index'
}

@test "a value that would inject nft syntax or hijack an interface is refused" {
  rejects "$(slot0 '{ bridge = "br\" accept #"; }')" 'slots[0].bridge'
  rejects "$(slot0 '{ tap = "tailscale0"; }')" 'slots[0].tap'
  rejects "$(slot0 '{ bridge = "lo"; }')" 'slots[0].bridge'
}

@test "CIDRs and tags: one rule and one wording wherever they appear" {
  rejects 'infra: infra // { tailscale = infra.tailscale // { advertiseRoutes = [ "10.1.0.1/24" ]; }; }' 'tailscale.advertiseRoutes[0]'
  rejects "$(slot0 '{ subnet = "10.1.0.1/24"; }')" 'slots[0].subnet'
  rejects 'infra: infra // { tailscale = infra.tailscale // { tags = [ "microvm-host" ]; }; }' 'tailscale.tags[0]'
  # The same CIDR mistake is described in the same words in both places.
  local a b
  run --separate-stderr generate validate "$FIXTURES/five-slots.json" \
    'infra: infra // { tailscale = infra.tailscale // { advertiseRoutes = [ "10.1.0.1/24" ]; }; }'
  a=${stderr#*advertiseRoutes\[0\]: }
  run --separate-stderr generate validate "$FIXTURES/five-slots.json" "$(slot0 '{ subnet = "10.1.0.1/24"; }')"
  b=${stderr#*subnet: }
  [ "${a%%$'\n'*}" = "${b%%$'\n'*}" ]
}

@test "every problem is reported at once, one line each" {
  run --separate-stderr generate validate "$FIXTURES/five-slots.json" \
    "infra: (($(slot0 '{ name = "a-"; mac = "x"; }')) infra) // { host = infra.host // { hostId = \"x\"; }; }"
  [ "$status" -ne 0 ]
  [ "$(grep -c 'infra.json: ' <<<"$stderr")" -eq 3 ]
}

@test "two slots sharing a name, index, subnet, bridge or tap are refused, naming both" {
  rejects "$(slot0 '{ index = 2; }')" 'slots[].index'
  rejects "$(slot0 '{ bridge = "br-slot2"; }')" 'slots[].bridge'
  rejects "$(slot0 '{ bridge = "vm-slot2"; }')" 'slots[].bridge'
  rejects 'infra: infra // { slots = infra.slots ++ [ (builtins.head infra.slots) ]; }' 'slots[].name'
  [[ "$stderr" == *"is used by slot1 and slot1"* ]]
  run --separate-stderr generate validate "$FIXTURES/five-slots.json" "$(slot0 '{ tap = "vm-slot3"; }')"
  [[ "$stderr" == *'slots[].tap: "vm-slot3" is used by slot1 and slot3'* ]]
}

@test "storage: xfs needs the state volume's device as zfs does; files needs none" {
  run --separate-stderr generate validate "$FIXTURES/five-slots.json" \
    'infra: infra // { storage = removeAttrs infra.storage [ "pool" ] // { backend = "xfs"; }; }'
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  rejects 'infra: infra // { storage = infra.storage // { backend = "xfs"; device = null; }; }' storage.device
  [[ "$stderr" == *'infra.json: storage.device: null is not valid; expected the state volume'"'"'s /dev/disk/by-id path (needed by storage.backend "xfs")'* ]]
  rejects 'infra: infra // { storage = infra.storage // { backend = "xfs"; device = "sdb"; }; }' storage.device
  run --separate-stderr generate validate "$FIXTURES/five-slots.json" \
    'infra: infra // { storage = { backend = "files"; }; }'
  [ "$status" -eq 0 ]
  rejects 'infra: infra // { storage = infra.storage // { backend = "btrfs"; }; }' storage.backend
  [[ "$stderr" == *'storage.backend: "btrfs" is not valid; expected "zfs" or "xfs" or "files"'* ]]
}

@test "storage.safetySnapshots: optional; keep and maxAgeDays whole numbers from 1, no other key" {
  run --separate-stderr generate validate "$FIXTURES/five-slots.json" \
    'infra: infra // { storage = removeAttrs infra.storage [ "safetySnapshots" ]; }'
  [ "$status" -eq 0 ]
  rejects 'infra: infra // { storage = infra.storage // { safetySnapshots = { keep = 0; maxAgeDays = "30"; ttl = 1; }; }; }' \
    storage.safetySnapshots.keep storage.safetySnapshots.maxAgeDays storage.safetySnapshots.ttl
  rejects 'infra: infra // { storage = infra.storage // { safetySnapshots = 5; }; }' storage.safetySnapshots
}

@test "storage.volumeGiB: optional (absent or null); otherwise a whole number of GiB from 1" {
  local ok
  for ok in 'removeAttrs infra.storage [ "volumeGiB" ]' 'infra.storage // { volumeGiB = null; }' 'infra.storage // { volumeGiB = 16384; }'; do
    run --separate-stderr generate validate "$FIXTURES/five-slots.json" "infra: infra // { storage = $ok; }"
    [ "$status" -eq 0 ] || { echo "$ok: $stderr" >&2; return 1; }
  done
  local bad
  for bad in 0 -1 1.5 '"256"' true; do
    rejects "infra: infra // { storage = infra.storage // { volumeGiB = $bad; }; }" storage.volumeGiB
    [[ "$stderr" == *"storage.volumeGiB: "*" is not valid; expected the state volume's size in GiB, an integer >= 1, or null"* ]] ||
      { echo "$bad: $stderr" >&2; return 1; }
  done
}

@test "storage.fromSnapshot: optional (absent or null); otherwise an EBS snapshot id, snap- and 8 or 17 hex digits" {
  local ok
  for ok in 'removeAttrs infra.storage [ "fromSnapshot" ]' 'infra.storage // { fromSnapshot = null; }' \
    'infra.storage // { fromSnapshot = "snap-0123456789abcdef0"; }' 'infra.storage // { fromSnapshot = "snap-0123abcd"; }'; do
    run --separate-stderr generate validate "$FIXTURES/five-slots.json" "infra: infra // { storage = $ok; }"
    [ "$status" -eq 0 ] || { echo "$ok: $stderr" >&2; return 1; }
  done
  # What validate passes on is the value itself.
  [ "$(jq -r .storage.fromSnapshot <<<"$output")" = snap-0123abcd ]
  local bad
  for bad in '"snap-0123456789ABCDEF0"' '"snap-0123456789abcdef"' '"snap-0123abc"' '"0123456789abcdef0"' \
    '"vol-0123456789abcdef0"' '"snap-0123456789abcdef0 "' '""' '5' '{ id = "snap-0123456789abcdef0"; }'; do
    rejects "infra: infra // { storage = infra.storage // { fromSnapshot = $bad; }; }" storage.fromSnapshot
    [[ "$stderr" == *'storage.fromSnapshot: '*' is not valid; expected an EBS snapshot id, "snap-" and 8 or 17 lowercase hex digits (such as "snap-0123456789abcdef0"), or null'* ]] ||
      { echo "$bad: $stderr" >&2; return 1; }
  done
}

@test "a host that runs no slot (a fleet's replica target) is valid, and every generator copes" {
  local lib
  for lib in validate slots egress nftables networkd tailscale units sanoid; do
    run --separate-stderr generate "$lib" "$FIXTURES/fleet-big.json" 'infra: infra // { slots = [ ]; }'
    [ "$status" -eq 0 ] || { echo "$lib: $stderr" >&2; return 1; }
  done
}
