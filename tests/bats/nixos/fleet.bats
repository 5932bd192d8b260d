#!/usr/bin/env bats
# The fleet on a host (infra.json `fleet`, issue 14): nixos/lib/fleet.nix evaluated with no nixpkgs
# on the two-host fixtures fleet-main.json and fleet-big.json, and on every one-host fixture, which
# must get nothing at all. The generated SSH client configuration is read by the real ssh (`ssh
# -G`), the timers' schedules by the real systemd (`systemd-analyze calendar`).
# (tests/bats/nixos-net/fleet-ssh.bats logs in with the generated lines through a real sshd.)
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
  MAIN="$FIXTURES/fleet-main.json" BIG="$FIXTURES/fleet-big.json"
}

NOTHING='{"authorizedKeys":[],"enabled":false,"etc":{},"peers":[],"replicas":[],"self":null,"services":{},"timers":{}}'
# The fleet's transfer key as the fixture holds it (the offline plan's placeholder for it).
TRANSFER_KEY=$(jq -r .fleet.transferPublicKey "$FIXTURES/fleet-main.json")

# module FIXTURE: what modules/fleet.nix sets, evaluated with the few lib functions it uses
# written out here (no nixpkgs); mkIf as a plain `if`.
# shellcheck disable=SC2016 # Nix, not shell, expands ${...} here
module() {
  nix_eval '{ lib, module, fixture }:
    let
      inherit (builtins) attrNames listToAttrs map stringLength substring;
      stub = {
        mkIf = c: v: if c then v else { };
        nameValuePair = name: value: { inherit name value; };
        mapAttrs = f: s: listToAttrs (map (n: { name = n; value = f n s.${n}; }) (attrNames s));
        "mapAttrs'"'"'" = f: s: listToAttrs (map (n: f n s.${n}) (attrNames s));
        removePrefix = p: s: if substring 0 (stringLength p) s == p then substring (stringLength p) (-1) s else s;
      };
    in
    import module { lib = stub; infra = builtins.fromJSON (builtins.readFile fixture); }' \
    --argstr lib "$NIXOS/lib" --argstr module "$NIXOS/modules/fleet.nix" --argstr fixture "$1"
}

@test "one-host fixtures: no fleet key, so no fleet key line, no files, no units, and the module sets nothing" {
  local f
  for f in "$FIXTURES/five-slots.json" "$FIXTURES/six-slots.json" "$FIXTURES/custom-slot.json" "$FIXTURES/workloads.json" "$NIXOS/infra.json"; do
    jq -e 'has("fleet") | not' "$f"
    run --separate-stderr generate fleet "$f"
    [ "$status" -eq 0 ] || { echo "$f: $stderr" >&2; return 1; }
    [ "$(jq -S -c . <<<"$output")" = "$NOTHING" ] || { echo "$f: $output" >&2; return 1; }
    run --separate-stderr module "$f"
    [ "$status" -eq 0 ]
    [ "$output" = '{}' ]
    # The slots' units are the same ones: microvm@ and one per slot, nothing else.
    run --separate-stderr generate units "$f"
    [ "$(jq -c 'keys' <<<"$output")" = "$(jq -c '["microvm@"] + [.slots[] | "microvm@\(.name)"] | sort' "$f")" ]
  done
  # A fleet key set to null is the same as none.
  run --separate-stderr generate fleet "$FIXTURES/five-slots.json" 'infra: infra // { fleet = null; }'
  [ "$(jq -S -c . <<<"$output")" = "$NOTHING" ]
}

@test "the fleet key: root's one extra line, forced to vm-state fleet-serve, from the other hosts only" {
  run --separate-stderr generate fleet "$MAIN"
  [ "$status" -eq 0 ]
  [ "$(jq -r '.authorizedKeys | length' <<<"$output")" -eq 1 ]
  [ "$(jq -r '.authorizedKeys[0]' <<<"$output")" = "restrict,from=\"172.20.2.10\",command=\"/run/current-system/sw/bin/vm-state fleet-serve\" $TRANSFER_KEY" ]
  run --separate-stderr generate fleet "$BIG"
  [ "$(jq -r '.authorizedKeys[0]' <<<"$output")" = "restrict,from=\"172.20.1.10\",command=\"/run/current-system/sw/bin/vm-state fleet-serve\" $TRANSFER_KEY" ]
  # Three hosts: both others, in fleet order, never the host itself.
  run --separate-stderr generate fleet "$MAIN" \
    'infra: infra // { fleet = infra.fleet // { hosts = [ { name = "edge"; address = "172.20.3.10"; backend = "zfs"; hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"; } ] ++ infra.fleet.hosts; }; }'
  [ "$status" -eq 0 ]
  [[ "$(jq -r '.authorizedKeys[0]' <<<"$output")" == 'restrict,from="172.20.3.10,172.20.2.10",command='* ]]
  [ "$(jq -c '[.peers[].name]' <<<"$output")" = '["edge","big"]' ]
  [ "$(jq -r .self.name <<<"$output")" = main ]
}

@test "the module: the line joins root's keys; ssh_config and known_hosts land in /etc; units as generated" {
  run --separate-stderr module "$MAIN"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  local lib
  lib=$(generate fleet "$MAIN")
  [ "$(jq -c '.users.users.root.openssh.authorizedKeys.keys' <<<"$output")" = "$(jq -c .authorizedKeys <<<"$lib")" ]
  [ "$(jq -c '.environment.etc | map_values(.text)' <<<"$output")" = "$(jq -c '.etc | with_entries(.key |= ltrimstr("/etc/"))' <<<"$lib")" ]
  [ "$(jq -c '.environment.etc | keys' <<<"$output")" = '["microvm-infra/fleet/known_hosts","microvm-infra/fleet/ssh_config"]' ]
  [ "$(jq -c .systemd <<<"$output")" = "$(jq -c '{services, timers}' <<<"$lib")" ]
  grep -q '\./fleet\.nix' "$NIXOS/modules/hypervisor.nix"
}

@test "vm-state's SSH client: real ssh reads the generated configuration as meant (ssh -G)" {
  require_tools ssh
  run --separate-stderr generate fleet "$MAIN"
  [ "$status" -eq 0 ]
  local cfg="$BATS_TEST_TMPDIR/ssh_config" g
  jq -r '.etc["/etc/microvm-infra/fleet/ssh_config"]' <<<"$output" >"$cfg"
  [ "$(jq -r '.etc["/etc/microvm-infra/fleet/known_hosts"]' <<<"$output")" = "big,172.20.2.10 $(jq -r '.fleet.hosts[1].hostKey' "$MAIN")" ]
  g=$(ssh -G -F "$cfg" big)
  # `ssh -G` prints the options in effect, one "key value" a line.
  for want in "hostname 172.20.2.10" "user root" "port 22" "hostkeyalias big" \
    "identityfile /var/lib/microvm-infra/secrets/fleet-transfer-key" "identitiesonly yes" "identityagent none" \
    "userknownhostsfile /etc/microvm-infra/fleet/known_hosts" "globalknownhostsfile /dev/null" \
    "stricthostkeychecking true" "updatehostkeys false" "batchmode yes" "forwardagent no" "clearallforwardings yes" \
    "permitlocalcommand no" "connecttimeout 10"; do
    grep -qx "$want" <<<"$g" || { echo "ssh -G: no \"$want\" in: $g" >&2; return 1; }
  done
  # A name that is not a peer (or an address) gets no address and no pinned key, and is still strict.
  g=$(ssh -G -F "$cfg" main)
  grep -qx "hostname main" <<<"$g"
  grep -qx "stricthostkeychecking true" <<<"$g"
  run ! grep -q '^hostkeyalias' <<<"$g"
}

@test "replication: one service and timer per state this host sends, with the agreed command line" {
  run --separate-stderr generate fleet "$MAIN"
  [ "$status" -eq 0 ]
  # main sends slot1 to big; slot4 is big's to send.
  [ "$(jq -c '.services | keys' <<<"$output")" = '["microvm-replicate-slot1"]' ]
  [ "$(jq -c '.timers | keys' <<<"$output")" = '["microvm-replicate-slot1"]' ]
  local s t
  s=$(jq -c '.services["microvm-replicate-slot1"]' <<<"$output")
  t=$(jq -c '.timers["microvm-replicate-slot1"]' <<<"$output")
  [ "$(jq -r .serviceConfig.ExecStart <<<"$s")" = "/run/current-system/sw/bin/vm-state replicate slot1 --to big --keep-hourly 24 --keep-daily 7 --keep-weekly 0 --keep-monthly 0" ]
  [ "$(jq -r .serviceConfig.Type <<<"$s")" = oneshot ]
  [ "$(jq -r .restartIfChanged <<<"$s")" = false ]
  # After the states' pool, the same way as the slots (Wants/After/AssertPathIsMountPoint), and the network.
  [ "$(jq -c .wants <<<"$s")" = '["microvm-state-pool.service","network-online.target"]' ]
  [ "$(jq -c .after <<<"$s")" = '["microvm-state-pool.service","network-online.target"]' ]
  [ "$(jq -r .unitConfig.AssertPathIsMountPoint <<<"$s")" = /var/lib/microvms/states ]
  jq -e '([keys[], (.unitConfig | keys[])] | map(ascii_downcase)) as $k
    | ($k - ["requires", "requisite", "bindsto", "partof", "upholds", "requiredby"]) == $k' <<<"$s"
  [ "$(jq -c '[.wantedBy, .timerConfig]' <<<"$t")" = '[["timers.target"],{"OnCalendar":"*-*-* *:00/15:00","Persistent":true}]' ]
  run --separate-stderr generate fleet "$BIG"
  [ "$(jq -c '.services | keys' <<<"$output")" = '["microvm-replicate-slot4"]' ]
  [ "$(jq -r '.services["microvm-replicate-slot4"].serviceConfig.ExecStart' <<<"$output")" = "/run/current-system/sw/bin/vm-state replicate slot4 --to main --keep-hourly 0 --keep-daily 7 --keep-weekly 0 --keep-monthly 0" ]
  [ "$(jq -r '.timers["microvm-replicate-slot4"].timerConfig.OnCalendar' <<<"$output")" = "*-*-* 00/1:00:00" ]
}

@test "replication: waits for the xfs volume as the slots do; no storage unit with files; no keep is all zeros" {
  run --separate-stderr generate fleet "$MAIN" \
    'infra: infra // { storage = infra.storage // { backend = "xfs"; }; fleet = infra.fleet // { hosts = map (h: h // { backend = "xfs"; }) infra.fleet.hosts; }; }'
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  local units
  units=$(generate units "$MAIN" 'infra: infra // { storage = infra.storage // { backend = "xfs"; }; fleet = null; }')
  [ "$(jq -c '.services["microvm-replicate-slot1"] | [.wants, .after, .unitConfig]' <<<"$output")" = \
    "$(jq -c '.["microvm@"] | [.wants + ["network-online.target"], .after + ["network-online.target"], .unitConfig]' <<<"$units")" ]
  run --separate-stderr generate fleet "$MAIN" \
    'infra: infra // { storage = { backend = "files"; }; fleet = infra.fleet // { hosts = map (h: h // { backend = "files"; }) infra.fleet.hosts; replicas = [ ((builtins.head infra.fleet.replicas) // { keep = null; }) ]; }; }'
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  [ "$(jq -c '.services["microvm-replicate-slot1"] | [.wants, .after, .unitConfig]' <<<"$output")" = '[["network-online.target"],["network-online.target"],{}]' ]
  [[ "$(jq -r '.services["microvm-replicate-slot1"].serviceConfig.ExecStart' <<<"$output")" == *" --keep-hourly 0 --keep-daily 0 --keep-weekly 0 --keep-monthly 0" ]]
}

# intervals: for every case of tests/fixtures/intervals.json, what the Nix rule says, whether
# validate.nix accepts it as fleet.replicas[0].every, and (when valid) its calendar expression.
intervals() {
  nix_eval '{ lib, table, fixture }:
    let
      R = import (lib + "/rules.nix");
      infra = builtins.fromJSON (builtins.readFile fixture);
      withEvery = e: infra // { fleet = infra.fleet // { replicas = [ ((builtins.head infra.fleet.replicas) // { every = e; }) ]; }; };
      accepts = i: (builtins.tryEval (builtins.deepSeq (import (lib + "/validate.nix") i) true)).success;
    in
    map (c: rec {
      inherit (c) every;
      valid = R.interval.ok c.every;
      minutes = R.intervalMinutes c.every;
      validates = accepts (withEvery c.every);
      calendar = if valid then (builtins.head (import (lib + "/fleet.nix") (withEvery c.every)).replicas).calendar else null;
    }) (builtins.fromJSON (builtins.readFile table)).cases' \
    --argstr lib "$NIXOS/lib" --argstr table "$REPO_ROOT/tests/fixtures/intervals.json" --argstr fixture "$MAIN"
}

@test "every: each case of intervals.json gets the table's verdict from the Nix rule and from validate.nix" {
  run --separate-stderr intervals
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  local table="$REPO_ROOT/tests/fixtures/intervals.json" wrong
  [ "$(jq length <<<"$output")" -eq "$(jq '.cases | length' "$table")" ]
  wrong=$(jq -c --slurpfile t "$table" '[ ., $t[0].cases ] | transpose[] | . as [$got, $want]
    | select($got.valid != $want.valid or $got.validates != $want.valid or ($want.valid and $got.minutes != $want.minutes))
    | {want: $want, got: $got}' <<<"$output")
  [ -z "$wrong" ] || { echo "$wrong" >&2; return 1; }
  run --separate-stderr generate validate "$MAIN" \
    'infra: infra // { fleet = infra.fleet // { replicas = [ ((builtins.head infra.fleet.replicas) // { every = "45m"; }) ]; }; }'
  [[ "$stderr" == *'infra.json: fleet.replicas[0].every: "45m" is not valid; expected "<N>m", "<N>h" or "<N>d" that divides an hour or a day evenly, from 5 minutes: 5m, '* ]]
}

@test "every: each valid period is a calendar that systemd runs exactly that often, around the hour and the day" {
  require_tools systemd-analyze date
  run --separate-stderr intervals
  [ "$status" -eq 0 ]
  local every minutes cal base=1772323200 # 2026-03-01 00:00:00 UTC
  while IFS=$'\t' read -r every minutes cal; do
    # Enough elapses to cross midnight twice.
    local n=$((2 * 1440 / minutes + 2)) times
    times=$(TZ=UTC systemd-analyze calendar --base-time=@$base --iterations=$n "$cal" |
      sed -nE 's/^ *(Next elapse|Iter\. #[0-9]+): [A-Z][a-z]{2} (.*)$/\2/p' | TZ=UTC date -f - +%s)
    [ "$(wc -l <<<"$times")" -eq "$n" ] || { echo "$every ($cal): $(wc -l <<<"$times") elapses" >&2; return 1; }
    # From the base time (midnight) on, every gap is the period.
    gaps=$( (echo "$base"; cat <<<"$times") | awk 'NR > 1 { print $1 - prev } { prev = $1 }' | sort -u)
    [ "$gaps" = "$((minutes * 60))" ] || { echo "$every ($cal): gaps $gaps" >&2; return 1; }
  done < <(jq -r '.[] | select(.valid) | [.every, .minutes, .calendar] | @tsv' <<<"$output")
}

# rejects EDIT FIELD...: validate.nix refuses fleet-main.json edited by EDIT, naming each FIELD.
rejects() {
  local edit=$1 f
  shift
  run --separate-stderr generate validate "$MAIN" "$edit"
  [ "$status" -ne 0 ] || { echo "accepted: $edit" >&2; return 1; }
  for f in "$@"; do
    grep -qF "infra.json: $f: " <<<"$stderr" || { echo "no problem reported for $f in: $stderr" >&2; return 1; }
  done
}
fleet() { echo "infra: infra // { fleet = infra.fleet // $1; }"; }
host1() { fleet "{ hosts = [ (builtins.head infra.fleet.hosts) ((builtins.elemAt infra.fleet.hosts 1) // $1) ]; }"; }
replica0() { fleet "{ replicas = [ ((builtins.head infra.fleet.replicas) // $1) ]; }"; }

@test "validation: the fleet's own fields" {
  rejects 'infra: infra // { fleet = "main"; }' fleet
  rejects "$(fleet '{ peers = [ ]; }')" fleet.peers
  rejects "$(fleet '{ hosts = [ (builtins.head infra.fleet.hosts) ]; }')" fleet.hosts
  rejects "$(fleet '{ self = "edge"; }')" fleet.self
  [[ "$stderr" == *'fleet.self: "edge" is not valid; expected the name of one of fleet.hosts ("big", "main")'* ]]
  rejects "$(fleet '{ transferKeyFile = "secrets/key"; }')" fleet.transferKeyFile
  rejects "$(fleet '{ transferPublicKey = "AAAA"; }')" fleet.transferPublicKey
  # Options in front of the key would be options of root's authorized_keys line; a newline, a second line.
  rejects "$(fleet '{ transferPublicKey = "command=\"/bin/sh\" ssh-ed25519 AAAA x"; }')" fleet.transferPublicKey
  rejects "$(fleet '{ transferPublicKey = "ssh-ed25519 AAAA x\nssh-ed25519 BBBB y"; }')" fleet.transferPublicKey
}

@test "validation: each host's name, address, backend and pinned host key" {
  rejects "$(host1 '{ name = "Big"; }')" 'fleet.hosts[1].name'
  rejects "$(host1 '{ name = "states"; }')" 'fleet.hosts[1].name'
  rejects "$(host1 '{ address = "172.20.2.256"; }')" 'fleet.hosts[1].address'
  rejects "$(host1 '{ address = "172.20.1.10"; }')" 'fleet.hosts[].address'
  [[ "$stderr" == *'fleet.hosts[].address: "172.20.1.10" is used by fleet.hosts[0] and fleet.hosts[1]; each host needs its own'* ]]
  rejects "$(host1 '{ name = "main"; }')" 'fleet.hosts[].name'
  rejects "$(host1 '{ backend = "lvm"; }')" 'fleet.hosts[1].backend'
  rejects "$(host1 '{ hostKey = null; }')" 'fleet.hosts[1].hostKey'
  rejects 'infra: infra // { fleet = infra.fleet // { hosts = [ (builtins.head infra.fleet.hosts) (removeAttrs (builtins.elemAt infra.fleet.hosts 1) [ "hostKey" ]) ]; }; }' 'fleet.hosts[1].hostKey'
  [[ "$stderr" == *'fleet.hosts[1].hostKey: missing; expected the host'"'"'s public SSH host key'*'never trusted on first use'* ]]
  rejects "$(host1 '{ hostKey = "ssh-ed25519 AAAA\n@cert-authority * ssh-ed25519 BBBB"; }')" 'fleet.hosts[1].hostKey'
  rejects "$(host1 '{ port = 2222; }')" 'fleet.hosts[1].port'
  rejects 'infra: infra // { fleet = infra.fleet // { hosts = infra.fleet.hosts ++ [ "edge" ]; }; }' 'fleet.hosts[2]'
  # This host's entry says how it stores states: the same as its own storage.backend.
  rejects 'infra: infra // { storage = removeAttrs infra.storage [ "pool" ] // { backend = "xfs"; }; }' 'fleet.hosts[0].backend'
  [[ "$stderr" == *'fleet.hosts[0].backend: "zfs" is not valid; expected "xfs", this host'"'"'s storage.backend'* ]]
}

@test "validation: each replica names fleet hosts with the same backend, a period and counts" {
  rejects "$(replica0 '{ state = "Web"; }')" 'fleet.replicas[0].state'
  rejects "$(replica0 '{ from = "edge"; }')" 'fleet.replicas[0].from'
  rejects "$(replica0 '{ to = "main"; }')" 'fleet.replicas[0].to'
  [[ "$stderr" == *'fleet.replicas[0].to: "main" is not valid; expected a host other than from ("main")'* ]]
  rejects "$(replica0 '{ every = "15"; }')" 'fleet.replicas[0].every'
  rejects "$(replica0 '{ keep = { hourly = -1; yearly = 1; }; }')" 'fleet.replicas[0].keep.hourly' 'fleet.replicas[0].keep.yearly'
  rejects "$(replica0 '{ keep = 24; }')" 'fleet.replicas[0].keep'
  rejects "$(replica0 '{ target = "big"; }')" 'fleet.replicas[0].target'
  rejects 'infra: infra // { fleet = infra.fleet // { replicas = infra.fleet.replicas ++ [ ((builtins.head infra.fleet.replicas) // { to = "main"; from = "big"; }) ]; }; }' 'fleet.replicas[].state'
  [[ "$stderr" == *'fleet.replicas[].state: "slot1" is used by fleet.replicas[0] and fleet.replicas[2]; each state replicates to one host'* ]]
  rejects "$(host1 '{ backend = "xfs"; }')" 'fleet.replicas[0].to'
  [[ "$stderr" == *'fleet.replicas[0].to: "big" is not valid; expected a host with the same storage backend as "main" ("zfs"), not "xfs"'* ]]
  rejects "$(fleet '{ replicas = { slot1 = { }; }; }')" 'fleet.replicas'
}

@test "validation: every fleet problem at once, one line each" {
  run --separate-stderr generate validate "$MAIN" \
    "$(fleet '{ self = "edge"; transferKeyFile = "key"; replicas = [ ((builtins.head infra.fleet.replicas) // { every = "7m"; to = "nowhere"; }) ]; }')"
  [ "$status" -ne 0 ]
  [ "$(grep -c 'infra.json: ' <<<"$stderr")" -eq 4 ]
}
