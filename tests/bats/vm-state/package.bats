#!/usr/bin/env bats
# The NixOS package of vm-state (nixos/modules/hypervisor.nix) concatenates scripts/vm-state.d/*
# in front of scripts/vm-state. Build that text the same way, from the list in the module, and
# check that it passes shellcheck on its own (as writeShellApplication does) and runs.

load helpers

# This file tests the bash package, whatever VM_STATE_BIN points the other suites at.
setup() {
  setup_vm_state
  VM_STATE=$REPO/scripts/vm-state
}

# The files the package concatenates, in the module's order.
package_files() {
  sed -n '/vm-state = pkgs.writeShellApplication/,/^  };/p' "$REPO/nixos/modules/hypervisor.nix" |
    grep -oE '\.\./\.\./scripts/[A-Za-z0-9_./-]+' | sed "s|^\.\./\.\./|$REPO/|"
}
bundle() { # OUT: the text writeShellApplication would write
  local f
  {
    printf '#!/usr/bin/env bash\nset -o errexit\nset -o nounset\nset -o pipefail\n\n'
    while IFS= read -r f; do cat "$f"; done < <(package_files)
  } >"$1"
  chmod +x "$1"
}

@test "the package holds every part of vm-state, the entry point last" {
  local listed parts
  listed=$(package_files)
  [ "$(tail -1 <<<"$listed")" = "$REPO/scripts/vm-state" ]
  parts=$(printf '%s\n' "$REPO"/scripts/vm-state.d/*.bash | sort)
  [ "$(head -n -1 <<<"$listed" | sort)" = "$parts" ]
}

@test "the concatenated package passes shellcheck on its own and runs" {
  require_tools shellcheck
  bundle "$BATS_TEST_TMPDIR/vm-state"
  (cd "$BATS_TEST_TMPDIR" && shellcheck vm-state)
  run "$BATS_TEST_TMPDIR/vm-state" help
  [ "$status" -eq 0 ]
  [[ $output == *"Exit codes:"* ]]
  run "$BATS_TEST_TMPDIR/vm-state" create web --size-gib 1
  [ "$status" -eq 0 ]
  [ "$(e2label "$(img web)")" = vmstate ]
}

@test "the package's dependencies: ch-remote's package for live snapshots, ssh and GNU tar for the fleet, no gzip" {
  local block
  block=$(sed -n '/vm-state = pkgs.writeShellApplication/,/^  };/p' "$REPO/nixos/modules/hypervisor.nix")
  [[ $block != *gzip* ]]
  [[ $block == *cloud-hypervisor* && $block == *openssh* && $block == *gnutar* ]]
  run grep -nwE 'gzip' "$VM_STATE" "$REPO"/scripts/vm-state.d/*.bash
  [ "$status" -eq 1 ]
  # tar only streams states between fleet hosts on files/xfs.
  [ "$(grep -lwE 'tar' "$VM_STATE" "$REPO"/scripts/vm-state.d/*.bash | xargs -n1 basename | sort | tr '\n' ' ')" = "backend-files.bash vm-state " ]
}

@test "vm-state and all its parts pass shellcheck -x" {
  require_tools shellcheck
  shellcheck -x "$VM_STATE" "$REPO"/scripts/vm-state.d/*.bash "$REPO"/tests/fakes/systemctl "$FAKES"/* \
    "$VM_STATE_TESTS"/helpers.bash "$VM_STATE_TESTS"/fleet.bash
}
