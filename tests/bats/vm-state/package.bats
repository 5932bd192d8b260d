#!/usr/bin/env bats
# How vm-state is packaged: in the repository, scripts/vm-state launches the TypeScript build
# (vm-state/dist/vm-state.js, made by `npm ci`); on the host, the NixOS package
# (nixos/lib/vm-state.nix, used by nixos/modules/hypervisor.nix) runs the build the deploy bundle
# carries with nixpkgs' Node. The package is evaluated here with stand-in pkgs (no nixpkgs on this machine) and the
# scripts it would write are run for real.

load helpers
load ../lib/nix

LAUNCHER=$REPO/scripts/vm-state
BUILD=$REPO/vm-state/dist/vm-state.js

# This file tests scripts/vm-state and the package, whatever VM_STATE_BIN points the other suites at.
setup() {
  setup_vm_state
  VM_STATE=$LAUNCHER
}

# package_eval ATTR: JSON of the package's ATTR (vm-state) evaluated with stand-in
# pkgs: writeShellApplication returns its arguments, its store path is $BATS_TEST_TMPDIR/store/NAME;
# the Node is the one on PATH (its directory as nodejs); ZFS when $2 is "zfs".
package_eval() {
  local node_dir
  node_dir=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  nix_eval "{ nixos, repo, store, nodejs, bundle, withZfs }:
    let
      pkgs = {
        writeShellApplication = a: a // { outPath = store + \"/\" + a.name; };
        inherit nodejs;
      } // builtins.listToAttrs (map (n: { name = n; value = \"pkg-\" + n; })
        [ \"jq\" \"util-linux\" \"coreutils\" \"e2fsprogs\" \"systemd\" \"cloud-hypervisor\" \"openssh\" \"rsync\" \"rrsync\" \"gnused\" \"gnugrep\" ]);
      lib = {
        optional = c: x: if c then [ x ] else [ ];
        concatMapStrings = f: l: builtins.concatStringsSep \"\" (map f l);
      };
      p = import (nixos + \"/lib/vm-state.nix\") {
        inherit pkgs lib bundle;
        zfs = if withZfs then \"pkg-zfs\" else null;
      };
    in builtins.removeAttrs p.$1 [ \"outPath\" ]" \
    --argstr nixos "$REPO/nixos" --argstr repo "$REPO" --argstr store "$BATS_TEST_TMPDIR/store" \
    --argstr nodejs "$node_dir" --argstr bundle "$BUILD" --arg withZfs "${2:-false}"
}

# install_package: writes the script as writeShellApplication would, under $BATS_TEST_TMPDIR/store.
install_package() {
  local name json
  for name in vm-state; do
    json=$(package_eval "$name") || return 1
    mkdir -p "$BATS_TEST_TMPDIR/store/$(jq -r .name <<<"$json")/bin"
    {
      printf '#!/usr/bin/env bash\nset -o errexit\nset -o nounset\nset -o pipefail\n\n'
      jq -r .text <<<"$json"
    } >"$BATS_TEST_TMPDIR/store/$(jq -r .name <<<"$json")/bin/$(jq -r .name <<<"$json")"
    chmod +x "$BATS_TEST_TMPDIR/store/$(jq -r .name <<<"$json")/bin/$(jq -r .name <<<"$json")"
  done
}

@test "scripts/vm-state runs the build with node, from anywhere and through a link, and starts no other process first" {
  [ -f "$BUILD" ]
  [ "$(head -1 "$LAUNCHER")" = "#!/usr/bin/env bash" ]
  # A PATH holding only node: the launcher needs nothing else (every call pays for what it starts).
  mkdir -p "$BATS_TEST_TMPDIR/only-node"
  ln -s "$(command -v node)" "$BATS_TEST_TMPDIR/only-node/node"
  run env PATH="$BATS_TEST_TMPDIR/only-node" "$(command -v bash)" "$LAUNCHER" list --json
  [ "$status" -eq 0 ]
  [ "$(jq -c .states <<<"$output")" = "[]" ]
  run vm create web --size-gib 1
  [ "$status" -eq 0 ]
  [ "$(e2label "$(img web)")" = vmstate ]
  ln -s "$LAUNCHER" "$BATS_TEST_TMPDIR/vm-state"
  run --separate-stderr bash -c 'cd / && "$1" list --json' _ "$BATS_TEST_TMPDIR/vm-state"
  [ "$status" -eq 0 ]
  [ "$(jq -c '[.states[].name]' <<<"$output")" = '["web"]' ]
  run bash -c 'cd "$1/scripts" && bash vm-state help' _ "$REPO"
  [ "$status" -eq 0 ]
  [[ $output == *"Exit codes:"* ]]
}

@test "scripts/vm-state without the build says how to make it (npm ci); npm ci makes it" {
  mkdir -p "$BATS_TEST_TMPDIR/checkout/scripts"
  cp "$LAUNCHER" "$BATS_TEST_TMPDIR/checkout/scripts/vm-state"
  run "$BATS_TEST_TMPDIR/checkout/scripts/vm-state" list
  [ "$status" -eq 1 ]
  [ "$output" = "vm-state: $BATS_TEST_TMPDIR/checkout/scripts/../vm-state/dist/vm-state.js is missing: run \`npm ci\` (or \`npm run build:vm-state\`) in the repository" ]
  # npm ci runs `prepare`, which writes the build the launcher runs.
  [ "$(jq -r .scripts.prepare "$REPO/package.json")" = "tsx vm-state/build.ts" ]
  grep -q 'vmStateOutput = "vm-state/dist/vm-state.js"' "$REPO/vm-state/build.ts"
}

@test "scripts/vm-state keeps Node's compile cache beside the build; a cache that cannot be written changes nothing" {
  local checkout=$BATS_TEST_TMPDIR/checkout
  mkdir -p "$checkout/scripts" "$checkout/vm-state/dist"
  cp "$LAUNCHER" "$checkout/scripts/vm-state"
  cp "$BUILD" "$checkout/vm-state/dist/vm-state.js"
  run --separate-stderr "$checkout/scripts/vm-state" list --json
  [ "$status" -eq 0 ]
  [ "$(jq -c .states <<<"$output")" = "[]" ]
  # Node wrote the build's compiled code there (one entry, under a directory named for Node's version).
  [ "$(find "$checkout/vm-state/dist/.compile-cache" -type f | wc -l)" -eq 1 ]
  run --separate-stderr "$checkout/scripts/vm-state" list --json
  [ "$status" -eq 0 ]
  [ "$(jq -c .states <<<"$output")" = "[]" ]
  # A cache path that cannot be a directory: the same output, nothing on stderr.
  rm -rf "$checkout/vm-state/dist/.compile-cache"
  echo "not a directory" >"$checkout/vm-state/dist/.compile-cache"
  run --separate-stderr "$checkout/scripts/vm-state" list --json
  [ "$status" -eq 0 ]
  [ "$(jq -c .states <<<"$output")" = "[]" ]
  [ -z "$stderr" ]
}

@test "a stale build that runs scripts/vm-state again is stopped with a message, not started forever" {
  local checkout=$BATS_TEST_TMPDIR/checkout
  mkdir -p "$checkout/scripts" "$checkout/vm-state/dist"
  cp "$LAUNCHER" "$checkout/scripts/vm-state"
  # As the build of main before the switch-over did for a fleet command: run scripts/vm-state.
  printf '%s\n' 'const path = require("path"), fs = require("fs");' \
    'const launcher = path.resolve(path.dirname(fs.realpathSync(process.argv[1])), "../../scripts/vm-state");' \
    'const r = require("child_process").spawnSync(launcher, process.argv.slice(2), { stdio: "inherit" });' \
    'process.exit(r.status ?? 1);' >"$checkout/vm-state/dist/vm-state.js"
  run timeout 60 "$checkout/scripts/vm-state" fleet-serve
  [ "$status" -eq 1 ]
  [ "$(grep -c . <<<"$output")" -eq 1 ]
  [ "$output" = "vm-state: $checkout/scripts/../vm-state/dist/vm-state.js is older than scripts/vm-state (it runs the launcher again): run \`npm ci\` (or \`npm run build:vm-state\`) in the repository" ]
}

@test "the NixOS package: nixpkgs' Node runs the bundle's build, with the tools vm-state runs on PATH; no npm" {
  nix_setup
  run --separate-stderr package_eval vm-state
  [ "$status" -eq 0 ]
  [ "$(jq -r .name <<<"$output")" = vm-state ]
  [[ "$(jq -r .text <<<"$output")" == *"exec $(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/bin/node $BUILD \"\$@\""* ]]
  [ "$(jq -c .runtimeInputs <<<"$output")" = '["pkg-util-linux","pkg-coreutils","pkg-e2fsprogs","pkg-systemd","pkg-cloud-hypervisor","pkg-openssh","pkg-rsync","pkg-rrsync"]' ]
  # rrsync is nixpkgs' package of that name (runtime.json cites where it installs bin/rrsync).
  [ "$(jq -r '.rrsync.package + " " + .rrsync.bin' "$REPO/nixos/rules/runtime.json")" = "rrsync bin/rrsync" ]
  [[ "$(jq -r .text <<<"$output")" != *npm* ]]
  # Node's compile cache in a directory only root can write (the module's tmpfiles rule makes it).
  [[ "$(jq -r .text <<<"$output")" == *"export NODE_COMPILE_CACHE=/var/cache/vm-state"* ]]
  grep -q '"d ${paths.vmStateCompileCache} 0700 root root -"' "$REPO/nixos/modules/hypervisor.nix"
  run --separate-stderr package_eval vm-state true
  [ "$(jq -r '.runtimeInputs[-1]' <<<"$output")" = pkg-zfs ]
  # The module gives it the bundle's build: the path the deploy bundle writes it to.
  grep -q 'bundle = \.\./\.\./scripts/vm-state\.js;' "$REPO/nixos/modules/hypervisor.nix"
  grep -q 'vmStateBundlePath = "scripts/vm-state.js"' "$REPO/components/deploy/bundle.ts"
}

@test "the NixOS package's script passes shellcheck and runs: vm-state creates a state, the fleet commands are the build's" {
  require_tools shellcheck
  nix_setup
  install_package
  local bin=$BATS_TEST_TMPDIR/store/vm-state/bin/vm-state
  (cd "$(dirname "$bin")" && shellcheck vm-state)
  # Its compile cache is the host's /var/cache/vm-state: not made on this machine.
  export NODE_DISABLE_COMPILE_CACHE=1
  run "$bin" create web --size-gib 1
  [ "$status" -eq 0 ]
  [ "$(e2label "$(img web)")" = vmstate ]
  # No .fleet in infra.json: fleet-pull says so (exit 4).
  run "$bin" fleet-pull web --from big
  [ "$status" -eq 4 ]
  [ "$output" = "vm-state: $VM_STATE_CONFIG has no .fleet: this host is not part of a fleet (a one-host stack)" ]
}

@test "no bash implementation is left: scripts/ holds the launcher only, and nothing packages or calls vm-state.d" {
  [ "$(cd "$REPO/scripts" && find . -mindepth 1 | sort)" = "./vm-state" ]
  run grep -rn 'vm-state\.d\|VM_STATE_LEGACY' "$REPO/nixos" "$REPO/vm-state/src" "$REPO/components" "$REPO/scripts"
  [ "$status" -eq 1 ]
}

@test "what remains of vm-state in bash passes shellcheck -x: the launcher and the test helpers" {
  require_tools shellcheck
  shellcheck -x "$LAUNCHER" "$REPO"/tests/fakes/systemctl "$FAKES"/* \
    "$VM_STATE_TESTS"/helpers.bash "$VM_STATE_TESTS"/fleet.bash
}
