#!/usr/bin/env bats
# The metrics path end to end, with the real programs, in a network namespace the test makes (so
# the generated configuration's own ports, 9090/9093/9100, are used as they are):
#   - "big", the collector: Debian's real node exporter on 127.0.0.1:9100 reading a textfile
#     directory where the real slot-metrics.sh and deploy-metrics.sh wrote (from a fake host) and
#     the real `vm-state metrics` (the TypeScript build, VM_STATE_BIN) wrote for a real vm-state
#     root the test makes with vm-state itself (files backend; recording fake systemctl);
#   - a slot restart-looping on big: "web"'s unit counts up systemd's NRestarts every second (as
#     Restart=always does, every RestartSec=5s on a host) while slot4 stays up, and slot-metrics.sh
#     runs after each restart as its timer would: a stand-in for systemd only, the rest is real;
#   - "main", another host: a second node exporter on 127.0.0.2:9100, found by the real
#     tailnet-targets.sh from a fake `tailscale status` that puts microvm-main at 127.0.0.2;
#   - the real Prometheus with the configuration and rules generated for
#     tests/fixtures/infra/observability-big.json, and the real Alertmanager with its generated
#     configuration, the webhook substituted as NixOS does, pointed at a listener in the namespace.
# Only the intervals are shortened (scrape and evaluation every second, Alertmanager's grouping
# waits of a second), so the test waits seconds, not minutes; it waits for readiness, never a time.
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $output, $status and $stderr; PATH is set per subshell on purpose

load helpers

setup_file() {
  require_root
  require_tools ip jq socat curl prometheus prometheus-node-exporter prometheus-alertmanager envsubst nix-instantiate node mkfs.ext4 e2label
  nix_setup
  require_vm_state
  NS="obs-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
  export NS
  export WORK="$BATS_FILE_TMPDIR/work"
  mkdir -p "$WORK"/{text-big,text-main,prom,am,units,cgroup,counters,microvms,state/switches,profiles,vm-state-units}
  echo "$NS" >"$BATS_FILE_TMPDIR/ns"
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  # A network device for the node exporter's netdev collector (it leaves lo out).
  ip -n "$NS" link add eth-obs type veth peer name eth-obs-peer
  ip -n "$NS" link set eth-obs up

  # big's exporters, from a fake host: slot4 running (restarted twice, long ago), web restart-looping
  # (restart_loop below); generation 12; its last switch failed.
  printf 'ActiveState=active\nNRestarts=2\nActiveEnterTimestamp=@1796000000\n' >"$WORK/units/microvm@slot4.service"
  mkdir -p "$WORK/cgroup/microvm@slot4.service"
  printf 'user_usec 2000000\nsystem_usec 1000000\n' >"$WORK/cgroup/microvm@slot4.service/cpu.stat"
  echo 536870912 >"$WORK/cgroup/microvm@slot4.service/memory.current"
  echo '{"_disk1":{"read_bytes":4096,"write_bytes":8192,"read_ops":1,"write_ops":2},"_net2":{"rx_bytes":100,"rx_frames":1,"tx_bytes":200,"tx_frames":2}}' >"$WORK/counters/slot4.json"
  ln -s system-12-link "$WORK/profiles/system"
  ln -s /nix/store/x "$WORK/profiles/system-12-link"
  mkdir -p "$WORK/state/switches/cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333"
  echo 1 >"$WORK/state/switches/cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333/rc"
  generate observability "$FIXTURES/observability-big.json" >"$WORK/obs.json"
  slot_metrics
  (
    export MICROVM_INFRA_STATE_DIR="$WORK/state" MICROVM_INFRA_SYSTEM_PROFILE="$WORK/profiles/system"
    "$SCRIPTS/deploy-metrics.sh" --output "$WORK/text-big/deploy.prom"
  )
  restart_loop web

  # big's states, made and changed by vm-state itself: slot4's state (snapshotted, in slot4), db (in
  # no slot), and a `create` that failed (the state exists: exit 4), whose record vm-state metrics
  # reports. Then the command the generated timer runs, with the test's root and textfile directory.
  make_states >>"$WORK/vm-state.log" 2>&1 || { cat "$WORK/vm-state.log" >&2; return 1; }
  promtool check metrics <"$WORK/text-big/vm-state.prom"

  # main: found on the tailnet at 127.0.0.2 by the generated tailnet-targets arguments.
  printf '{"Peer":{"nodekey:m":{"HostName":"microvm-main","TailscaleIPs":["127.0.0.2"],"Online":true}}}' >"$WORK/tailscale.json"
  local targets args
  targets=$(jq -r '.prometheus.config.scrape_configs[0].file_sd_configs[0].files[0]' "$WORK/obs.json")
  mapfile -t args < <(jq -r '.exporters["microvm-tailnet-targets"].argv[3:][]' "$WORK/obs.json")
  PATH="$FAKES:$PATH" FAKE_TAILSCALE_STATUS="$WORK/tailscale.json" \
    "$SCRIPTS/tailnet-targets.sh" --output "$WORK/targets.json" "${args[@]}"

  # Prometheus: the generated configuration and rules; the file_sd path pointed at the test's copy,
  # and the textfile directory the rules name (MetricsMissing) at big's, where the test's exporters write.
  jq --arg dir "$WORK/text-big" '.textfileDir as $t | .rules | walk(if type == "string" then split($t) | join($dir) else . end)' \
    "$WORK/obs.json" >"$WORK/rules.json"
  jq --arg rules "$WORK/rules.json" --arg targets "$targets" --arg mine "$WORK/targets.json" '.prometheus.config
      | .rule_files = [$rules]
      | .global = { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" }
      | .scrape_configs[0].file_sd_configs[0].files = [ .scrape_configs[0].file_sd_configs[0].files[] | if . == $targets then $mine else . end ]' \
    "$WORK/obs.json" >"$WORK/prometheus.json"
  # Alertmanager: the generated configuration, substituted as at start, delivering to the listener.
  jq '.alertmanager.config | .route.group_wait = "1s" | .route.group_interval = "1s"' "$WORK/obs.json" |
    MICROVM_ALERT_WEBHOOK_URL=http://127.0.0.1:8080/hook envsubst >"$WORK/alertmanager.json"

  cat >"$WORK/hook" <<'SH'
#!/bin/bash
# Records one HTTP request's body to $1 (a new file per request), answers 200.
length=0
while IFS= read -r line && [[ ${line%$'\r'} != "" ]]; do
  if [[ ${line,,} =~ ^content-length:\ *([0-9]+) ]]; then length=${BASH_REMATCH[1]}; fi
done
head -c "$length" >"$1.$$.tmp" && mv "$1.$$.tmp" "$1.$$"
printf 'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'
SH
  chmod +x "$WORK/hook"
  in_ns socat TCP-LISTEN:8080,bind=127.0.0.1,fork,reuseaddr "EXEC:$WORK/hook $WORK/delivered"
  in_ns prometheus-node-exporter --web.listen-address=127.0.0.1:9100 --collector.textfile.directory="$WORK/text-big"
  in_ns prometheus-node-exporter --web.listen-address=127.0.0.2:9100 --collector.textfile.directory="$WORK/text-main"
  in_ns prometheus-alertmanager --config.file="$WORK/alertmanager.json" --storage.path="$WORK/am" \
    --web.listen-address=127.0.0.1:9093 --cluster.listen-address=
  in_ns prometheus --config.file="$WORK/prometheus.json" --storage.tsdb.path="$WORK/prom" --web.listen-address=127.0.0.1:9090
  for port in 8080 9090 9093; do wait_port 127.0.0.1 "$port"; done
  wait_port 127.0.0.2 9100
  wait_port 127.0.0.1 9100
}

teardown_file() {
  local ns pid
  if [[ -f $BATS_FILE_TMPDIR/work/restart-loop.pid ]]; then kill "$(<"$BATS_FILE_TMPDIR/work/restart-loop.pid")" 2>/dev/null || true; fi
  ns=$(cat "$BATS_FILE_TMPDIR/ns" 2>/dev/null) || return 0
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  ip netns delete "$ns" 2>/dev/null || true
}

# in_ns COMMAND...: COMMAND in the background in the test's namespace (its output to the work dir).
in_ns() {
  ip netns exec "$NS" "$@" </dev/null >>"$WORK/daemons.log" 2>&1 3>&- &
}

# wait_port ADDR PORT: until something listens on ADDR:PORT in the namespace (up to 30 s).
wait_port() {
  for _ in {1..300}; do
    ip netns exec "$NS" ss -Hltn "sport = :$2" | grep -qF "$1:$2" && return 0
    sleep 0.1
  done
  echo "nothing listens on $1:$2; daemons' log:" >&2
  tail -n 30 "$WORK/daemons.log" >&2
  return 1
}

# slot_metrics: big's slot-metrics.sh with the arguments the generated unit passes, on the fake
# host, into the test's textfile directory (what its timer does every 15 s).
slot_metrics() {
  (
    export PATH="$FAKES:$PATH" FAKE_UNITS="$WORK/units" FAKE_CH_COUNTERS="$WORK/counters" SLOT_METRICS_CGROUP="$WORK/cgroup" VM_STATE_ROOT="$WORK/microvms"
    jq -r '.exporters["microvm-slot-metrics"].argv[3:][]' "$WORK/obs.json" | xargs "$SCRIPTS/slot-metrics.sh" --output "$WORK/text-big/slots.prom"
  )
}

# restart_loop SLOT: in the background, what systemd does to a VM that keeps dying (microvm.nix's
# microvm@ has Restart=always): the unit is never seen active, and NRestarts counts up, one restart
# a second here; after each, slot-metrics.sh runs. Bounded (5 minutes); teardown_file stops it.
restart_loop() {
  (
    for n in {1..300}; do
      printf 'ActiveState=activating\nNRestarts=%s\n' "$n" >"$WORK/units/microvm@$1.service.tmp"
      mv "$WORK/units/microvm@$1.service.tmp" "$WORK/units/microvm@$1.service"
      slot_metrics
      sleep 1
    done
  ) </dev/null >>"$WORK/restart-loop.log" 2>&1 3>&- &
  echo $! >"$WORK/restart-loop.pid"
}

# vm_state_env: vm-state on the test's root ($WORK/microvms, where slot-metrics.sh also looks for the
# slots' API sockets), with big's infra.json on the files backend (no zfs here), and the recording
# fake systemctl vm-state's own tests use (tests/fakes/systemctl).
vm_state_env() {
  export VM_STATE_ROOT="$WORK/microvms" VM_STATE_CONFIG="$WORK/vm-state-infra.json"
  export VM_STATE_SYSTEMCTL="$REPO_ROOT/tests/fakes/systemctl" FAKE_SYSTEMCTL_DIR="$WORK/vm-state-units" FAKE_SYSTEMCTL_LOG="$WORK/vm-state-systemctl.log"
  export PATH=$PATH:/usr/sbin:/sbin
  jq '.storage.backend = "files" | .storage.device = null | .storage.volumeGiB = null | .storage.autoSnapshots = []' \
    "$FIXTURES/observability-big.json" >"$VM_STATE_CONFIG"
}

# query EXPR: the result of an instant query, as JSON (the API's .data.result).
query() {
  ip netns exec "$NS" curl -sf --max-time 5 -G --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query | jq -c '.data.result'
}

# make_states: big's root, made by vm-state itself, then its metrics written as the timer does.
make_states() {
  local argv
  vm_state_env
  "$VM_STATE" create slot4 --size-gib 1 || return 1
  "$VM_STATE" snapshot slot4 nightly || return 1
  "$VM_STATE" assign slot4 slot4 || return 1
  "$VM_STATE" create db --size-gib 1 || return 1
  if "$VM_STATE" create db --size-gib 1; then
    echo "vm-state create of an existing state succeeded" >&2
    return 1
  fi
  # The generated timer's command, with the test's textfile directory.
  mapfile -t argv < <(jq -r '.exporters["microvm-vm-state-metrics"].argv[1:][]' "$WORK/obs.json")
  [[ ${argv[*]} == "metrics --output /var/lib/microvm-infra/metrics/vm-state.prom" ]] || return 1
  "$VM_STATE" metrics --output "$WORK/text-big/vm-state.prom"
}

# eventually EXPR JQ [SECONDS]: until the query's result passes the jq test (up to SECONDS, 60).
eventually() {
  local result i
  for ((i = 0; i < ${3:-60} * 10; i++)); do
    result=$(query "$1") && jq -e "$2" <<<"$result" >/dev/null && return 0
    sleep 0.1
  done
  echo "query $1 never gave $2; last: $result" >&2
  return 1
}

@test "Prometheus scrapes the collector itself and the other host found on the tailnet, each labelled with its stack name" {
  eventually 'up{job="node"}' 'length == 2 and all(.[]; .value[1] == "1")'
  [ "$(query 'up{job="node"}' | jq -c '[.[].metric | [.host, .instance]] | sort')" = '[["big","big"],["main","main"]]' ]
  eventually 'up{job=~"prometheus|alertmanager"}' 'length == 2 and all(.[]; .value[1] == "1")'
}

@test "every node exporter family the rules and dashboards use is in the real node exporter's output" {
  eventually 'up{job="node",host="big"}' 'length == 1'
  local name missing=()
  for name in $(jq -r '.metrics[].name' "$METRICS/node-exporter.json"); do
    eventually "count($name{host=\"big\"})" 'length == 1' 2>/dev/null || missing+=("$name")
  done
  [ "${#missing[@]}" -eq 0 ] || { echo "not scraped: ${missing[*]}" >&2; return 1; }
}

@test "the slots' and the deployment's families reach Prometheus with the exporters' values, from the collector's host" {
  eventually 'microvm_slot_up{host="big"}' 'length == 2'
  [ "$(query 'microvm_slot_up{host="big"}' | jq -c '[.[] | [.metric.slot, .value[1]]] | sort')" = '[["slot4","1"],["web","0"]]' ]
  [ "$(query 'microvm_slot_restarts_total{slot="slot4"}' | jq -r '.[0].value[1]')" = 2 ]
  [ "$(query 'microvm_slot_disk_written_bytes_total{slot="slot4",device="_disk1"}' | jq -r '.[0].value[1]')" = 8192 ]
  [ "$(query 'microvm_deploy_generation{host="big"}' | jq -r '.[0].value[1]')" = 12 ]
  local name missing=()
  for name in $(jq -r '.metrics[].name' "$METRICS/microvm-host.json"); do
    [ "$(query "count({__name__=\"$name\",host=\"big\"})" | jq length)" = 1 ] || missing+=("$name")
  done
  [ "${#missing[@]}" -eq 0 ] || { echo "not scraped: ${missing[*]}" >&2; return 1; }
  eventually 'node_textfile_scrape_error{host="big"}' '.[0].value[1] == "0"'
}

@test "a host that answers without its exporters' files has MetricsMissing pending for each; the collector, whose files the real node exporter reads, has none" {
  # main's textfile directory is empty (no exporter ran there); big's has all three.
  eventually 'ALERTS{alertname="MetricsMissing",host="main"}' 'length == 3'
  [ "$(query 'ALERTS{alertname="MetricsMissing",host="main"}' | jq -c --arg d "$WORK/text-big/" '[.[].metric | [.alertstate, (.file | ltrimstr($d))]] | sort')" = \
    '[["pending","deploy.prom"],["pending","slots.prom"],["pending","vm-state.prom"]]' ]
  eventually 'node_textfile_mtime_seconds{host="big"}' 'length == 3'
  [ "$(query 'ALERTS{alertname="MetricsMissing",host="big"}')" = '[]' ]
}

@test "vm-state metrics, run on a real root, reaches Prometheus through the same textfile directory with the root's states" {
  eventually 'vm_state_up{host="big"}' '.[0].value[1] == "1"'
  # db is in no slot: vm-state writes slot="", which Prometheus stores as no slot label at all.
  [ "$(query 'vm_state_state_info{host="big"}' | jq -c '[.[].metric | [.state, .slot]] | sort')" = '[["db",null],["slot4","slot4"]]' ]
  grep -qxF 'vm_state_state_info{state="db",slot=""} 1' "$WORK/text-big/vm-state.prom"
  [ "$(query 'vm_state_state_snapshots{host="big"}' | jq -c '[.[] | [.metric.state, .value[1]]] | sort')" = '[["db","0"],["slot4","1"]]' ]
  [ "$(query 'vm_state_state_size_bytes{host="big",state="slot4"}' | jq -r '.[0].value[1]')" = 1073741824 ]
  [ "$(query 'vm_state_last_operation_success{host="big"}' | jq -c '[.[] | [.metric.command, .value[1]]] | sort')" = '[["assign","1"],["create","0"],["snapshot","1"]]' ]
  [ "$(query 'vm_state_last_operation_exit_code{host="big",command="create"}' | jq -r '.[0].value[1]')" = 4 ]
  # Every family the command wrote a sample of is in Prometheus, as written (the table is checked
  # against the command's output by tests/bats/vm-state/metrics.bats).
  local name missing=() written
  written=$(grep -v '^#' "$WORK/text-big/vm-state.prom" | sed -E 's/[{ ].*//' | sort -u)
  [ "$(wc -l <<<"$written")" -ge 12 ]
  for name in $written; do
    jq -e --arg n "$name" 'any(.metrics[]; .name == $n)' "$METRICS/vm-state.json" >/dev/null || { echo "$name is not in lib/metrics/vm-state.json" >&2; return 1; }
    [ "$(query "count({__name__=\"$name\",host=\"big\"})" | jq -r '.[0].value[1]')" = "$(grep -c "^${name}[{ ]" "$WORK/text-big/vm-state.prom")" ] || missing+=("$name")
  done
  [ "${#missing[@]}" -eq 0 ] || { echo "not scraped as written: ${missing[*]}" >&2; return 1; }
}

@test "vm-state's failed command fires its alert from the real record, and Alertmanager delivers it" {
  eventually 'ALERTS{alertname="VmStateCommandFailed",alertstate="firing"}' 'length == 1 and .[0].metric.command == "create"'
  for _ in {1..600}; do
    grep -qs VmStateCommandFailed "$WORK"/delivered.* && break
    sleep 0.1
  done
  run jq -s -e '[.[].alerts[] | select(.labels.alertname == "VmStateCommandFailed" and .status == "firing")
    | [.labels.host, .labels.command]] | unique == [["big","create"]]' "$WORK"/delivered.*
  [ "$status" -eq 0 ] || { cat "$WORK"/delivered.* >&2; return 1; }
}

@test "a failed switch fires its alert, and Alertmanager delivers it to the webhook" {
  eventually 'ALERTS{alertname="SwitchFailed",alertstate="firing"}' 'length == 1'
  for _ in {1..600}; do
    compgen -G "$WORK/delivered.*" >/dev/null && break
    sleep 0.1
  done
  run jq -s -e '[.[].alerts[] | select(.labels.alertname == "SwitchFailed" and .status == "firing")
    | [.labels.host, .labels.bundle, .labels.severity]] | unique == [["big","cccc3333cccc3333","critical"]]' "$WORK"/delivered.*
  [ "$status" -eq 0 ] || { cat "$WORK"/delivered.* >&2; return 1; }
}

@test "a host that stops answering reads up 0, which the HostUnreachable rule turns into an alert" {
  eventually 'up{job="node",host="main"}' '.[0].value[1] == "1"'
  local pid
  for pid in $(ip netns pids "$NS"); do
    if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'web.listen-address=127.0.0.2:9100'; then kill "$pid"; fi
  done
  eventually 'up{job="node",host="main"}' '.[0].value[1] == "0"'
  eventually 'ALERTS{alertname="HostUnreachable",host="main"}' 'length == 1 and .[0].metric.alertstate == "pending"'
}

# Last, so that the rule's minute of `for` passes while the tests above run.
@test "a restart-looping slot: the real SlotRestartLooping rule fires from the exporter's NRestarts and reaches the webhook; the healthy slot stays silent" {
  eventually 'increase(microvm_slot_restarts_total{host="big",slot="web"}[15m]) >= 3' 'length == 1'
  eventually 'ALERTS{alertname="SlotRestartLooping"}' 'length == 1 and .[0].metric.slot == "web"'
  eventually 'ALERTS{alertname="SlotRestartLooping",alertstate="firing"}' 'length == 1 and .[0].metric.slot == "web"' 120
  [ "$(query 'ALERTS{alertname="SlotRestartLooping",slot="slot4"}')" = '[]' ]
  for _ in {1..600}; do
    grep -qs SlotRestartLooping "$WORK"/delivered.* && break
    sleep 0.1
  done
  run jq -s -e '[.[].alerts[] | select(.labels.alertname == "SlotRestartLooping" and .status == "firing")
    | [.labels.host, .labels.slot, .labels.severity, .annotations.summary]] | unique == [["big","web","critical","Slot web on big is restart-looping"]]' "$WORK"/delivered.*
  [ "$status" -eq 0 ] || { cat "$WORK"/delivered.* >&2; return 1; }
}
