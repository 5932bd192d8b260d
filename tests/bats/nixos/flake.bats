#!/usr/bin/env bats
# The flake's pins and its bundle: every input names a revision and the lock holds exactly that
# revision with a content hash; every file the Nix code references is in the pushed bundle; no
# slot is written out by hand.
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test
load helpers

setup() {
  nix_setup
  require_tools jq
  LOCK="$NIXOS/flake.lock"
}

inputs_json() {
  nix_eval '{ flake }: builtins.mapAttrs (n: i: i.url) (import flake).inputs' --argstr flake "$NIXOS/flake.nix"
}

@test "flake inputs name a revision (no branch that can float)" {
  run --separate-stderr inputs_json
  [ "$status" -eq 0 ]
  # nixpkgs and microvm.nix, and any flake a user adds for guest modules (docs/nixos.md).
  jq -e 'has("nixpkgs") and has("microvm")' <<<"$output"
  jq -e 'to_entries | all(.value | test("^github:[^/]+/[^/]+/[0-9a-f]{40}$"))' <<<"$output"
}

@test "flake.lock pins exactly the revisions flake.nix names, each with a narHash" {
  run --separate-stderr inputs_json
  [ "$status" -eq 0 ]
  local name url rev
  for name in $(jq -r 'keys[]' <<<"$output"); do
    url=$(jq -r ".$name" <<<"$output")
    rev=${url##*/}
    [ "$(jq -r ".nodes.$name.locked.rev" "$LOCK")" = "$rev" ]
    [ "$(jq -r ".nodes.$name.original.rev" "$LOCK")" = "$rev" ]
    [ "$(jq -r ".nodes.$name.locked | \"github:\(.owner)/\(.repo)/\(.rev)\"" "$LOCK" | tr '[:upper:]' '[:lower:]')" = "$(tr '[:upper:]' '[:lower:]' <<<"$url")" ]
  done
  # Every locked node, transitive ones included, has a revision and a content hash.
  jq -e '[.nodes | to_entries[] | select(.key != "root") | .value.locked
          | (.rev | test("^[0-9a-f]{40}$")) and (.narHash | test("^sha256-[A-Za-z0-9+/]{43}=$"))] | all' "$LOCK"
  [ "$(jq -c '.nodes.root.inputs | keys' "$LOCK")" = "$(jq -c 'keys' <<<"$output")" ]
}

@test "microvm.nix follows our nixpkgs" {
  [ "$(jq -c '.nodes.microvm.inputs.nixpkgs' "$LOCK")" = '["nixpkgs"]' ]
  run --separate-stderr nix_eval '{ flake }: (import flake).inputs.microvm.inputs.nixpkgs.follows' --argstr flake "$NIXOS/flake.nix"
  [ "$output" = '"nixpkgs"' ]
}

@test "every file the Nix code references exists inside the bundle (nixos/ and scripts/)" {
  local f dir ref target count=0 missing=0
  while IFS= read -r f; do
    dir=$(dirname "$f")
    while IFS= read -r ref; do
      target=$(realpath -m "$dir/$ref")
      count=$((count + 1))
      case "$target" in
        "$NIXOS"/* | "$REPO_ROOT/scripts"/*) ;;
        *) echo "$f references $ref, outside the bundle" >&2; missing=1 ;;
      esac
      # scripts/vm-state.js is built into the bundle (components/deploy/bundle.ts), never committed.
      [ -e "$target" ] || [ "$target" = "$REPO_ROOT/scripts/vm-state.js" ] || { echo "$f references $ref, which does not exist" >&2; missing=1; }
    done < <(grep -oE '(^|[^A-Za-z0-9_"$])\.\.?/[A-Za-z0-9_./-]+' "$f" | sed -E 's/^[^.]//; s/[.]+$//')
  done < <(find "$NIXOS" -name '*.nix' -not -path "$NIXOS/lib/nftables.nix" -not -path "$NIXOS/lib/networkd.nix")
  [ "$count" -gt 10 ]
  [ "$missing" -eq 0 ]
  # The packaged vm-state in particular: the build the bundle carries, and the fleet's bash parts.
  grep -q '\.\./\.\./scripts/vm-state\.js;' "$NIXOS/modules/hypervisor.nix"
  grep -q 'vmStateBundlePath = "scripts/vm-state.js"' "$REPO_ROOT/components/deploy/bundle.ts"
  grep -q '\.\./\.\./scripts/vm-state\.d/vm-state\.bash' "$NIXOS/modules/hypervisor.nix"
}

@test "no slot is written out by hand in the flake, its modules or its checks" {
  run grep -rnE '"slot[0-9]+"|br-slot|vm-slot|10\.[0-9]+\.0\.[0-9]+|02:00:0a' \
    "$NIXOS/flake.nix" "$NIXOS/modules" "$NIXOS/checks" "$NIXOS/lib/guest.nix" "$NIXOS/lib/slots.nix" \
    "$NIXOS/lib/tailscale.nix" "$NIXOS/lib/sanoid.nix"
  [ "$status" -eq 1 ] || { echo "$output" >&2; return 1; }
}

@test "no personal data: the committed deployment data carries placeholder keys only" {
  run jq -r '.host.sshPublicKeys[]' "$NIXOS/infra.json"
  [ "$status" -eq 0 ]
  [ -n "$output" ]
  # The example key is a well-formed ed25519 line whose key bytes are all zero: nobody's key.
  local placeholder="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA you@example"
  while IFS= read -r key; do [ "$key" = "$placeholder" ] || { echo "not a placeholder: $key" >&2; return 1; }; done <<<"$output"
}
