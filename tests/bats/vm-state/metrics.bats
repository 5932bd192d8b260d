#!/usr/bin/env bats
# vm-state metrics: Prometheus text format for the node exporter's textfile collector, exactly the
# families of lib/metrics/vm-state.json (the table the observability stack builds against),
# checked by the real promtool.

load helpers

setup() {
  setup_vm_state
  TABLE=$REPO/lib/metrics/vm-state.json
}

# value METRIC_LINE_PREFIX: the value of the sample line starting with the prefix (a name and labels).
value() { awk -v p="$1 " 'index($0, p) == 1 {print $NF}' <<<"$output"; }

@test "metrics: every family of the table, no other, with its type, help and labels; promtool check metrics is clean" {
  require_tools promtool
  make_state web
  make_state db
  vm snapshot web v1 2>/dev/null
  vm assign slot1 web 2>/dev/null
  run --separate-stderr vm metrics
  [ "$status" -eq 0 ]
  promtool check metrics <<<"$output"
  [ "$(grep '^# TYPE ' <<<"$output" | cut -d' ' -f3,4)" = "$(jq -r '.metrics[] | "\(.name) \(.type)"' "$TABLE")" ]
  [ "$(grep '^# HELP ' <<<"$output" | cut -d' ' -f3-)" = "$(jq -r '.metrics[] | "\(.name) \(.help)"' "$TABLE")" ]
  # Every sample's labels are its family's, in the table's order.
  local line name labels want
  while IFS= read -r line; do
    name=${line%%[{ ]*}
    labels=$(sed -nE 's/^[a-z_]+\{(.*)\} .*/\1/p' <<<"$line" | sed -E 's/="([^"\\]|\\.)*"//g')
    want=$(jq -r --arg n "$name" '.metrics[] | select(.name == $n) | .labels | join(",")' "$TABLE")
    [ "$labels" = "$want" ] || { echo "$line: labels '$labels', the table says '$want'"; return 1; }
  done < <(grep -v '^#' <<<"$output")
}

@test "metrics: the states, their slots, sizes and snapshots, the journal, the space" {
  make_state web
  make_state db
  vm snapshot web v1 2>/dev/null
  touch -d '2024-01-01 12:00:00 UTC' "$VM_STATE_ROOT/states/web/.snapshots/v1.img"
  vm assign slot1 web 2>/dev/null
  run --separate-stderr vm metrics
  [ "$status" -eq 0 ]
  [ "$(value vm_state_up)" = 1 ]
  [ "$(value 'vm_state_state_info{state="web",slot="slot1"}')" = 1 ]
  [ "$(value 'vm_state_state_info{state="db",slot=""}')" = 1 ]
  [ "$(value 'vm_state_state_size_bytes{state="web"}')" -eq $((1024 * MiB)) ]
  [ "$(value 'vm_state_state_used_bytes{state="web"}')" -eq "$(allocated "$(img web)")" ]
  [ "$(value 'vm_state_state_snapshots{state="web"}')" = 1 ]
  [ "$(value 'vm_state_state_snapshots{state="db"}')" = 0 ]
  [ "$(value 'vm_state_state_newest_snapshot_timestamp_seconds{state="web"}')" = 1704110400 ]
  [ -z "$(value 'vm_state_state_newest_snapshot_timestamp_seconds{state="db"}')" ]
  [ "$(value vm_state_journal_pending)" = 0 ]
  [ "$(value vm_state_storage_free_bytes)" -gt 0 ]
  [ "$(value vm_state_storage_size_bytes)" -ge "$(value vm_state_storage_free_bytes)" ]
  stop_at stopped assign slot1 db
  run --separate-stderr vm metrics
  [ "$(value vm_state_journal_pending)" = 1 ]
}

@test "metrics: the last run of each change, its time, duration and exit code" {
  local before
  before=$(date +%s)
  make_state web
  run vm create web --size-gib 1
  [ "$status" -eq 4 ]
  vm assign slot1 web 2>/dev/null
  run --separate-stderr vm metrics
  [ "$(value 'vm_state_last_operation_exit_code{command="create"}')" = 4 ]
  [ "$(value 'vm_state_last_operation_success{command="create"}')" = 0 ]
  [ "$(value 'vm_state_last_operation_success{command="assign"}')" = 1 ]
  [ "$(value 'vm_state_last_operation_exit_code{command="assign"}')" = 0 ]
  local at
  at=$(value 'vm_state_last_operation_timestamp_seconds{command="assign"}')
  [ "${at%.*}" -ge "$before" ]
  [ "${at%.*}" -le "$(date +%s)" ]
  [[ $(value 'vm_state_last_operation_duration_seconds{command="assign"}') =~ ^[0-9.]+$ ]]
  # A usage error runs nothing and records nothing; reads record nothing either.
  run vm create 'Bad name'
  [ "$status" -eq 2 ]
  vm list >/dev/null 2>&1
  run --separate-stderr vm metrics
  [ "$(value 'vm_state_last_operation_exit_code{command="create"}')" = 4 ]
  [[ $output != *'command="list"'* ]]
}

@test "metrics: moves in flight and replicas, from the fleet's records" {
  make_state web
  local fleet=$VM_STATE_ROOT/.vm-state-fleet
  mkdir -p "$fleet/in" "$fleet/out" "$fleet/replicas" "$fleet/replicated" "$VM_STATE_ROOT/states/.replicas/api"
  echo '{"from": "main", "phase": "copying"}' >"$fleet/in/db.json"
  echo '{"to": "big", "phase": "released", "slot": "slot2", "wasRunning": true}' >"$fleet/out/web.json"
  echo '{"from": "main"}' >"$fleet/replicas/api.json"
  truncate -s 1M "$VM_STATE_ROOT/states/.replicas/api/_replica-self-20240101-120000.img"
  truncate -s 1M "$VM_STATE_ROOT/states/.replicas/api/_replica-self-20240102-120000.img"
  echo '{"at": 1704200000}' >"$fleet/replicated/web.big.json"
  run --separate-stderr vm metrics
  [ "$status" -eq 0 ]
  [ "$(value 'vm_state_move_in_progress{state="db",direction="in"}')" = 1 ]
  [ "$(value 'vm_state_move_in_progress{state="web",direction="out"}')" = 1 ]
  [ "$(value 'vm_state_replica_newest_timestamp_seconds{state="api",from="main"}')" = 1704196800 ]
  [ "$(value 'vm_state_replica_last_success_timestamp_seconds{state="web",to="big"}')" = 1704200000 ]
}

@test "metrics --output replaces the file atomically; unreadable infra.json still writes every family with vm_state_up 0" {
  require_tools promtool
  make_state web
  local dir=$BATS_TEST_TMPDIR/textfile
  mkdir -p "$dir"
  echo stale >"$dir/vm-state.prom"
  run vm metrics --output "$dir/vm-state.prom"
  [ "$status" -eq 0 ]
  [ "$(ls -A "$dir")" = vm-state.prom ]
  promtool check metrics <"$dir/vm-state.prom"
  grep -qx 'vm_state_up 1' "$dir/vm-state.prom"
  VM_STATE_CONFIG=$BATS_TEST_TMPDIR/missing.json run vm metrics --output "$dir/vm-state.prom"
  [ "$status" -eq 1 ]
  [[ $output == *"cannot read deployment data $BATS_TEST_TMPDIR/missing.json"* ]]
  grep -qx 'vm_state_up 0' "$dir/vm-state.prom"
  [ "$(grep -c '^# TYPE ' "$dir/vm-state.prom")" -eq "$(jq '.metrics | length' "$TABLE")" ]
  promtool check metrics <"$dir/vm-state.prom"
  [ "$(ls -A "$dir")" = vm-state.prom ]
}

@test "metrics needs no lock and no root: it reads while a change holds the lock, as an unprivileged user" {
  require_tools setpriv
  require_root # to switch to an unprivileged user
  make_state web
  readable_by_all
  flock -o "$VM_STATE_ROOT/.vm-state.lock" sleep 30 &
  local holder=$!
  VM_STATE_LOCK_WAIT=0 run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$VM_STATE" metrics
  kill "$holder"
  wait "$holder" || true
  [ "$status" -eq 0 ]
  [ "$(value 'vm_state_state_info{state="web",slot=""}')" = 1 ]
}

@test "metrics: 200 states with 600 snapshots fit the exporters' MemoryMax with a quarter to spare" {
  # The host runs `vm-state metrics` from a timer whose unit has MemoryMax= set to the exporters'
  # share (infra/config/observability.ts observabilityServices.exporters, rendered into
  # infra.json); an OOM kill there loses every vm-state metric. GNU time's %M is the largest
  # resident set of the run (the launcher's node included).
  require_tools /usr/bin/time
  local budget_mib
  budget_mib=$(jq -e '.observability.memoryMiB.exporters' "$REPO/nixos/infra.json")
  make_state s0
  local snap
  for snap in a b c; do vm snapshot s0 "$snap" 2>/dev/null; done
  local i
  for ((i = 1; i < 200; i++)); do cp -a --sparse=always "$VM_STATE_ROOT/states/s0" "$VM_STATE_ROOT/states/s$i"; done
  run --separate-stderr /usr/bin/time -f 'maxrss-kib %M' "$VM_STATE" metrics
  [ "$status" -eq 0 ]
  [ "$(grep -c '^vm_state_state_info{' <<<"$output")" -eq 200 ]
  local rss_kib
  rss_kib=$(awk '$1 == "maxrss-kib" {print $2}' <<<"$stderr")
  echo "vm-state metrics: ${rss_kib} KiB at most, budget ${budget_mib} MiB" >&2
  ((rss_kib * 4 <= budget_mib * 1024 * 3))
}

@test "metrics on zfs: a state's used bytes and the pool's space come from zfs" {
  write_config zfs slot1
  mkdir -p "$FAKE_ZFS_DIR" "$VM_STATE_ROOT/states"
  printf 'tank\t1600000000\t-\t-\ntank/states\t1600000000\t-\t-\n' >"$FAKE_ZFS_DIR/db"
  vm create web --size-gib 1 2>/dev/null
  echo 5000000000 >"$FAKE_ZFS_DIR/available"
  run --separate-stderr vm metrics
  [ "$status" -eq 0 ]
  [ "$(value 'vm_state_state_used_bytes{state="web"}')" -eq "$("$FAKES/zfs" get -H -p -o value used tank/states/web)" ]
  [ "$(value vm_state_storage_free_bytes)" -eq 5000000000 ]
  [ "$(value vm_state_storage_size_bytes)" -eq $((5000000000 + $("$FAKES/zfs" get -H -p -o value used tank))) ]
}
