# Shared by tests/bats/observability: the repository's paths and the nixos suite's helpers (Nix with
# the tests' own configuration, `generate`), plus reading Prometheus text format.
load ../nixos/helpers

# shellcheck disable=SC2034 # used by the .bats files
SCRIPTS="$REPO_ROOT/nixos/scripts"
METRICS="$REPO_ROOT/lib/metrics"
# shellcheck disable=SC2034
FAKES="$BATS_TEST_DIRNAME/fakes"
# The vm-state whose `metrics` command the exporters' timer runs: the TypeScript build, which
# tools/test.sh makes and exports as VM_STATE_BIN (`npm run build:vm-state` makes it by hand).
VM_STATE=${VM_STATE_BIN:-$REPO_ROOT/vm-state/dist/vm-state.js}

# require_vm_state: $VM_STATE is built (skip locally, fail under CI=true, as require_tools does).
require_vm_state() {
  [[ -x $VM_STATE ]] && return 0
  if [[ ${CI:-} == true ]]; then
    echo "CI=true but vm-state is not built at $VM_STATE (tools/test.sh builds it first)" >&2
    return 1
  fi
  skip "vm-state is not built at $VM_STATE: npm run build:vm-state"
}

# prom_families FILE: the families in Prometheus text FILE as JSON, one object per family:
# {name, type, help, labels: [label names seen on its samples, sorted]}.
prom_families() {
  awk '
    /^# HELP / { name = $3; sub(/^# HELP [^ ]+ /, ""); help[name] = $0; order[++n] = name; next }
    /^# TYPE / { type[$3] = $4; next }
    /^#/ || NF == 0 { next }
    {
      metric = $1; sub(/\{.*/, "", metric)
      labels = ""
      if (match($0, /\{[^}]*\}/)) {
        body = substr($0, RSTART + 1, RLENGTH - 2)
        while (match(body, /[a-zA-Z_][a-zA-Z0-9_]*="/)) {
          key = substr(body, RSTART, RLENGTH - 2)
          seen[metric, key] = 1; keys[metric] = keys[metric] " " key
          body = substr(body, RSTART + RLENGTH)
          sub(/^([^"\\]|\\.)*"/, "", body)
        }
      }
    }
    END {
      for (i = 1; i <= n; i++) {
        m = order[i]
        printf "%s\t%s\t%s\t%s\n", m, type[m], help[m], keys[m]
      }
    }' "$1" | jq -R -s 'split("\n") | map(select(length > 0) | split("\t")
      | {name: .[0], type: .[1], help: .[2], labels: (.[3] | split(" ") | map(select(length > 0)) | unique)})'
}

# table_families TABLE [EXPORTER]: the families of lib/metrics/TABLE.json (those of EXPORTER only,
# when given) in prom_families' shape.
table_families() {
  jq --arg e "${2:-}" '[.metrics[] | select($e == "" or .exporter == $e) | {name, type, help, labels: (.labels | unique)}]' "$METRICS/$1.json"
}
