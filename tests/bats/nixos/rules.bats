#!/usr/bin/env bats
# The rules the host shares with the stack config (nixos/rules/rules.json): every case of the shared
# table tests/fixtures/rules.json through nixos/lib/rules.nix. tests/unit/rules.test.ts runs the same
# cases through the TypeScript rules, so both languages give each value one verdict.
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
}

# Each rule of the table and the rules.nix rule that applies it on the host.
verdicts() {
  nix_eval "{ lib, table }: let
      R = import (lib + \"/rules.nix\");
      rules = { dnsLabel = R.hostName; userName = R.userName; tag = R.tag; snapshotId = R.snapshotId;
                domain = R.domain; hostPort = R.hostPort; moduleRef = R.moduleRef; sshPublicKey = R.sshPublicKey; };
      t = builtins.removeAttrs (builtins.fromJSON (builtins.readFile table)) [ \"description\" ];
    in { missing = builtins.filter (r: !(rules ? \${r})) (builtins.attrNames t);
         wrong = builtins.concatLists (builtins.attrValues (builtins.mapAttrs (rule: cases:
           map (c: { inherit rule; inherit (c) value why ok; })
             (builtins.filter (c: rules.\${rule}.ok c.value != c.ok) cases)) t)); }" \
    --argstr lib "$NIXOS/lib" --argstr table "$REPO_ROOT/tests/fixtures/rules.json"
}

@test "every case of tests/fixtures/rules.json gets its verdict from nixos/lib/rules.nix" {
  run --separate-stderr verdicts
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  [ "$(jq -c .missing <<<"$output")" = '[]' ]
  [ "$(jq -c .wrong <<<"$output")" = '[]' ] || { jq . <<<"$output" >&2; return 1; }
  # The table is not empty for any rule, and holds both verdicts.
  jq -e 'del(.description) | all(.[]; (map(.ok) | index(true)) and (map(.ok) | index(false)))' "$REPO_ROOT/tests/fixtures/rules.json"
}

@test "validate.nix refuses a system account as the admin user, naming the key" {
  for user in sshd nobody nginx microvm messagebus nixbld3; do
    run --separate-stderr generate validate "$FIXTURES/five-slots.json" "infra: infra // { host = infra.host // { adminUser = \"$user\"; }; }"
    [ "$status" -ne 0 ]
    [[ "$stderr" == *"infra.json: host.adminUser: \"$user\" is not valid"* ]] || { echo "$user: $stderr" >&2; return 1; }
  done
}

@test "validate.nix refuses a published host port the egress proxy listens on" {
  run --separate-stderr generate validate "$FIXTURES/workloads.json" \
    'infra: infra // { slots = map (s: if s.name == "slot4" then s // { publish = [ { port = 80; to = "internet"; hostPort = 20004; sources = [ "0.0.0.0/0" ]; } ]; } else s) infra.slots; }'
  [ "$status" -ne 0 ]
  [[ "$stderr" == *'infra.json: slots[3].publish[0].hostPort: 20004 is not valid'* ]]
}
