#!/usr/bin/env bats
# What nixos/lib/observability.nix generates, checked by the real tools: every Prometheus
# configuration by `promtool check config`, every rule file by `promtool check rules` and the alerts
# by `promtool test rules` (alerts.test.yml: the restart-looping slot and the rest), Alertmanager's
# configuration by `amtool check-config` (with the webhook substituted as NixOS does at start), the
# dashboards' queries by promtool, and every metric a rule or a dashboard names against the tables
# of lib/metrics. Fixtures: the example stack (one host, nixos/infra.json) and the fleet fixture
# (tests/fixtures/infra/observability-big.json, the collector, with a webhook; -main.json, an agent).
# shellcheck disable=SC2154 # bats' run sets $output, $status and $stderr

load helpers

setup_file() {
  nix_setup
}

setup() {
  require_tools nix-instantiate jq promtool amtool envsubst
  nix_setup
  EXAMPLE="$NIXOS/infra.json"
  BIG="$FIXTURES/observability-big.json"
  MAIN="$FIXTURES/observability-main.json"
  OUT="$BATS_TEST_TMPDIR"
}

# render FIXTURE: the generated values as JSON in $OUT/obs.json, the rules in $OUT/rules.json and
# Prometheus' configuration as the module writes it (with its rules file) in $OUT/prometheus.json.
render() {
  generate observability "$1" >"$OUT/obs.json"
  jq '.rules' "$OUT/obs.json" >"$OUT/rules.json"
  jq --arg rules "$OUT/rules.json" '.prometheus.config + { rule_files: [$rules] }' "$OUT/obs.json" >"$OUT/prometheus.json"
}

# every metric name the PromQL expressions on stdin (one JSON string a line) name.
promql_metrics() {
  jq -r '
    gsub("\\$__rate_interval"; "5m") | gsub("\\$[a-z_]+"; "x")
    | gsub("\"(\\\\.|[^\"\\\\])*\""; "\"\"")
    | gsub("\\{[^}]*\\}"; "") | gsub("\\[[^\\]]*\\]"; "")
    | gsub("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)"; "")
    | [scan("\\b[a-zA-Z_:][a-zA-Z0-9_:]*\\b(?!\\s*\\()")][]
    | select(IN("and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "inf", "nan") | not)'
}

# Every metric the exporters and Prometheus declare (lib/metrics/*.json).
declared() { jq -r '.metrics[].name' "$METRICS"/*.json | sort -u; }

# The dashboards' expressions, one JSON string a line: every target's, and each template
# variable's query inside label_values(...).
dashboard_exprs() {
  jq -c '.grafana.dashboards[] | (.panels[].targets[]?.expr),
    (.templating.list[].query.query | capture("^label_values\\((?<q>.*), *[a-z_]+\\)$").q)' "$OUT/obs.json"
}

@test "the example's and the fleet collector's Prometheus configuration and rules pass promtool" {
  for fixture in "$EXAMPLE" "$BIG"; do
    render "$fixture"
    run promtool check config "$OUT/prometheus.json"
    [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
    [[ "$output" == *"SUCCESS: 1 rule files found"* ]]
    run promtool check rules "$OUT/rules.json"
    [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  done
}

@test "the alerts fire as alerts.test.yml says: a restart-looping slot, full volumes, overdue snapshots and replicas, a failed switch, an unreachable host" {
  render "$BIG"
  cp "$BATS_TEST_DIRNAME/alerts.test.yml" "$OUT/"
  run promtool test rules "$OUT/alerts.test.yml"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
}

@test "the rule that would have caught a restart-looping slot is there on every collector, and only with a healthy twin it stays silent" {
  for fixture in "$EXAMPLE" "$BIG"; do
    render "$fixture"
    [ "$(jq -r '.groups[0].rules[] | select(.alert == "SlotRestartLooping") | .expr' "$OUT/rules.json")" = "increase(microvm_slot_restarts_total[15m]) >= 3" ]
  done
  # The unit test fails if the rule is weakened: a threshold ten times higher misses the loop.
  sed -i 's/microvm_slot_restarts_total\[15m\]) >= 3/microvm_slot_restarts_total[15m]) >= 30/' "$OUT/rules.json"
  cp "$BATS_TEST_DIRNAME/alerts.test.yml" "$OUT/"
  run promtool test rules "$OUT/alerts.test.yml"
  [ "$status" -eq 1 ]
  [[ "$output" == *"alertname: SlotRestartLooping, time: 20m"* ]]
}

@test "the schedules' rules: one per scheduled state and per replication, with the periods of infra.json" {
  render "$BIG"
  run jq -c '[.groups[1].rules[] | [.alert, .labels.host, .labels.state, .expr]]' "$OUT/rules.json"
  [ "$output" = "$(jq -c . <<'EOF'
[["SnapshotOverdue","main","slot1","time() - vm_state_state_newest_snapshot_timestamp_seconds{host=\"main\",state=\"slot1\"} > 7200"],
 ["SnapshotMissing","main","slot1","vm_state_state_info{host=\"main\",state=\"slot1\"} unless on (host, state) vm_state_state_newest_snapshot_timestamp_seconds"],
 ["SnapshotOverdue","big","slot4","time() - vm_state_state_newest_snapshot_timestamp_seconds{host=\"big\",state=\"slot4\"} > 1209600"],
 ["SnapshotMissing","big","slot4","vm_state_state_info{host=\"big\",state=\"slot4\"} unless on (host, state) vm_state_state_newest_snapshot_timestamp_seconds"],
 ["ReplicationOverdue","main","slot1","time() - vm_state_replica_last_success_timestamp_seconds{host=\"main\",state=\"slot1\",to=\"big\"} > 2700"],
 ["ReplicationMissing","main","slot1","vm_state_state_info{host=\"main\",state=\"slot1\"} unless on (host, state) vm_state_replica_last_success_timestamp_seconds{to=\"big\"}"],
 ["ReplicationOverdue","big","slot4","time() - vm_state_replica_last_success_timestamp_seconds{host=\"big\",state=\"slot4\",to=\"main\"} > 10800"],
 ["ReplicationMissing","big","slot4","vm_state_state_info{host=\"big\",state=\"slot4\"} unless on (host, state) vm_state_replica_last_success_timestamp_seconds{to=\"main\"}"]]
EOF
)" ]
  render "$EXAMPLE"
  [ "$(jq -c '[.groups[1].rules[] | [.alert, .labels.state]]' "$OUT/rules.json")" = '[["SnapshotOverdue","slot1"],["SnapshotMissing","slot1"]]' ]
}

@test "Alertmanager: only shown without a webhook; with one, the URL comes from the environment file, and amtool accepts both" {
  render "$EXAMPLE"
  jq '.alertmanager.config' "$OUT/obs.json" >"$OUT/am.json"
  [ "$(jq -c '.alertmanager.envFile' "$OUT/obs.json")" = null ]
  [ "$(jq -c '.receivers' "$OUT/am.json")" = '[{"name":"shown-only"}]' ]
  run amtool check-config "$OUT/am.json"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }

  render "$BIG"
  [ "$(jq -r '.alertmanager.envFile' "$OUT/obs.json")" = /var/lib/microvm-infra/secrets/alertmanager-webhook.env ]
  jq '.alertmanager.config' "$OUT/obs.json" >"$OUT/am.json"
  # In the Nix store: the variable's name only, never a URL.
  # shellcheck disable=SC2016 # the literal text, not expanded here
  [ "$(jq -r '.receivers[0].webhook_configs[0].url' "$OUT/am.json")" = '${MICROVM_ALERT_WEBHOOK_URL}' ]
  # What NixOS does at start: envsubst with the environment file's variable.
  MICROVM_ALERT_WEBHOOK_URL='https://hooks.example.com/services/T0/B0/x?a=1&b=2' envsubst <"$OUT/am.json" >"$OUT/am-substituted.json"
  run amtool check-config "$OUT/am-substituted.json"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  [ "$(jq -r '.receivers[0].webhook_configs[0].url' "$OUT/am-substituted.json")" = 'https://hooks.example.com/services/T0/B0/x?a=1&b=2' ]
}

@test "every metric the rules and dashboards name is declared by an exporter or Prometheus (lib/metrics)" {
  for fixture in "$EXAMPLE" "$BIG"; do
    render "$fixture"
    run comm -23 <({ jq -c '.groups[].rules[].expr' "$OUT/rules.json"; dashboard_exprs; } | promql_metrics | sort -u) <(declared)
    [ "$status" -eq 0 ]
    [ -z "$output" ] || { echo "undeclared: $output" >&2; return 1; }
  done
}

@test "the metric-name check itself finds metrics behind functions, matchers, ranges and joins, and nothing else" {
  run promql_metrics <<'EOF'
"sum by (host, slot) (rate(foo_total{a=\"b\", c=~\"d|e\"}[$__rate_interval])) / on (host, slot) group_left (slot) bar_info"
"time() - baz_seconds{host=\"$host\"} > 7200 or (qux unless on (host) quux)"
"count(ALERTS{alertstate=\"firing\"}) or vector(0)"
"round(increase(x_total[1h])) offset 5m"
EOF
  [ "$(sort <<<"$output" | tr '\n' ' ')" = "ALERTS bar_info baz_seconds foo_total quux qux x_total " ]
}

@test "the dashboards: three, with unique uids, every query valid PromQL (promtool), every panel inside the 24-column grid" {
  render "$EXAMPLE"
  [ "$(jq -c '.grafana.dashboards | keys' "$OUT/obs.json")" = '["fleet.json","host.json","slot.json"]' ]
  [ "$(jq -r '[.grafana.dashboards[].uid] | unique | length' "$OUT/obs.json")" = 3 ]
  run jq -e '[.grafana.dashboards[].panels[] | .gridPos | select(.x < 0 or .w < 1 or .x + .w > 24 or .h < 1)] == []' "$OUT/obs.json"
  [ "$status" -eq 0 ]
  run jq -e '[.grafana.dashboards[].panels[] | select(.type != "text") | select((.targets // []) == [] or any(.targets[]; (.expr // "") == "" or .datasource.uid != "prometheus"))] == []' "$OUT/obs.json"
  [ "$status" -eq 0 ]
  # Each expression as a recording rule, with Grafana's variables as a value, so promtool parses it.
  dashboard_exprs | jq -s '{ groups: [ { name: "dashboards", rules: [ to_entries[] | { record: "dashboard:query:\(.key)", expr: (.value | gsub("\\$__rate_interval"; "5m") | gsub("\\$(?<v>[a-z_]+)"; "\(.v)-value")) } ] } ] }' >"$OUT/queries.json"
  [ "$(jq '.groups[0].rules | length' "$OUT/queries.json")" -gt 40 ]
  run promtool check rules "$OUT/queries.json"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
}

@test "the collector of a fleet scrapes itself locally and the other hosts from the tailnet list; an agent runs only the exporters" {
  render "$BIG"
  [ "$(jq -c '.prometheus.config.scrape_configs[0] | [.static_configs, .file_sd_configs]' "$OUT/obs.json")" = \
    '[[{"labels":{"host":"big"},"targets":["127.0.0.1:9100"]}],[{"files":["/var/lib/microvm-infra/observability/tailnet-targets.json"],"refresh_interval":"1m"}]]' ]
  [ "$(jq -c '.exporters["microvm-tailnet-targets"].argv' "$OUT/obs.json")" = \
    '["tailnet-targets","--output","/var/lib/microvm-infra/observability/tailnet-targets.json","9100","main=microvm-main"]' ]
  [ "$(jq -c '.exporters["microvm-slot-metrics"].argv[3:]' "$OUT/obs.json")" = '["slot4:1:1024","web:1:1024"]' ]
  [ "$(jq -c '.tailnetPorts' "$OUT/obs.json")" = '[9100,9090,9093,3000]' ]
  render "$MAIN"
  [ "$(jq -c '[.collector, .prometheus, .rules, .alertmanager, .grafana, .tailnetPorts]' "$OUT/obs.json")" = '[false,null,null,null,null,[9100]]' ]
  [ "$(jq -c '.exporters | keys' "$OUT/obs.json")" = '["microvm-deploy-metrics","microvm-slot-metrics","microvm-vm-state-metrics"]' ]
  [ "$(jq -c '.exporters["microvm-slot-metrics"].argv[3:]' "$OUT/obs.json")" = '["slot1:1:1024","slot2:1:1024"]' ]
  # One host: no tailnet list, nothing else to scrape.
  render "$EXAMPLE"
  [ "$(jq -c '.prometheus.config.scrape_configs[0].file_sd_configs' "$OUT/obs.json")" = null ]
  [ "$(jq -c '.exporters | has("microvm-tailnet-targets")' "$OUT/obs.json")" = false ]
}

@test "each service is limited to the memory the capacity check counted, and the journal to the logs' retention" {
  render "$BIG"
  [ "$(jq -c '.memoryMax' "$OUT/obs.json")" = '{"alertmanager":"128M","grafana":"512M","prometheus":"1024M","prometheus-node-exporter":"128M"}' ]
  [ "$(jq -c '.exportersSlice' "$OUT/obs.json")" = '{"memoryMax":"128M","name":"microvm-exporters"}' ]
  [ "$(jq -r '.journald' "$OUT/obs.json")" = "$(printf 'SystemMaxUse=2G\nMaxRetentionSec=7day')" ]
  [ "$(jq -c '.prometheus.flags' "$OUT/obs.json")" = '["--storage.tsdb.retention.time=30d","--storage.tsdb.retention.size=16GB"]' ]
}

@test "off (no observability block), nothing is generated" {
  run --separate-stderr generate observability "$EXAMPLE" 'i: removeAttrs i [ "observability" ]'
  [ "$status" -eq 0 ]
  [ "$(jq -c '[.enabled, .exporters, .memoryMax, .journald, .prometheus, .tailnetPorts, .nftables]' <<<"$output")" = '[false,{},{},"",null,[],""]' ]
}

# has_lines TEXT LINE...: every LINE is in TEXT (Nix's message), else says which is missing.
has_lines() {
  local text=$1 line
  shift
  for line in "$@"; do
    [[ "$text" == *"$line"* ]] || { echo "missing: $line" >&2; echo "$text" >&2; return 1; }
  done
}

@test "a bad block stops the evaluation with every problem at once, each naming its field" {
  run --separate-stderr generate observability "$BIG" 'i: i // { observability = i.observability // {
      role = "boss"; extra = 1; logs = { retentionDays = 0; maxGiB = 2; }; ports = { nodeExporter = 70000; };
      memoryMiB = i.observability.memoryMiB // { redis = 64; };
      scrape = [ { host = "main"; tailnetName = "Bad Name"; } ];
      alerts = i.observability.alerts // { volumeFullPercent = 100; webhook = { envFile = "relative"; variable = "url"; }; }; }; }'
  [ "$status" -ne 0 ]
  has_lines "$stderr" \
    'infra.json: observability.extra: unknown key; expected only host, role, memoryMiB, ports, logs, metrics, scrape, alerts' \
    'infra.json: observability.role: "boss" is not valid; expected "collector" or "agent"' \
    'infra.json: observability.memoryMiB.redis: unknown key; expected only prometheus, alertmanager, grafana, nodeExporter, exporters' \
    'infra.json: observability.logs.retentionDays: 0 is not valid; expected an integer >= 1' \
    'infra.json: observability.ports.nodeExporter: 70000 is not valid; expected a TCP port from 1 to 65535'
}

@test "a bad collector block names every problem of its scrape list and alerts" {
  run --separate-stderr generate observability "$BIG" 'i: i // { observability = i.observability // {
      scrape = [ { host = "main"; tailnetName = "Bad Name"; } ];
      alerts = i.observability.alerts // { volumeFullPercent = 100; webhook = { envFile = "relative"; variable = "url"; }; }; }; }'
  [ "$status" -ne 0 ]
  has_lines "$stderr" \
    "infra.json: observability.scrape[0].tailnetName: \"Bad Name\" is not valid; expected a DNS label (lowercase letters, digits, '-', at most 63 characters, not starting or ending with '-')" \
    'infra.json: observability.scrape[0].host: "main" is not valid; expected this host ("big"): the collector scrapes itself first' \
    'infra.json: observability.alerts.volumeFullPercent: 100 is not valid; expected a whole number from 50 to 99' \
    'infra.json: observability.alerts.webhook.envFile: "relative" is not valid; expected' \
    'infra.json: observability.alerts.webhook.variable: "url" is not valid; expected an environment variable name'
}
