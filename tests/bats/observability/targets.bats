#!/usr/bin/env bats
# nixos/scripts/tailnet-targets.sh: the collector's list of the other hosts' node exporters on the
# tailnet, from `tailscale status --json` (a fake that prints a status in ipnstate.Status' shape),
# as the file_sd file the generated Prometheus configuration reads (promtool checks it as such).
# shellcheck disable=SC2154 # bats' run sets $output, $status and $stderr

load helpers

setup() {
  require_tools jq promtool shellcheck
  export PATH="$FAKES:$PATH" FAKE_TAILSCALE_STATUS="$BATS_TEST_TMPDIR/status.json"
  OUT="$BATS_TEST_TMPDIR/targets.json"
}

status() {
  cat >"$FAKE_TAILSCALE_STATUS" <<'EOF'
{"BackendState": "Running",
 "Self": {"HostName": "microvm-big", "TailscaleIPs": ["100.64.0.1", "fd7a:115c:a1e0::1"], "Online": true},
 "Peer": {
   "nodekey:old": {"HostName": "microvm-main", "DNSName": "microvm-main.example.ts.net.", "TailscaleIPs": ["100.64.0.2"], "Online": false},
   "nodekey:new": {"HostName": "microvm-main", "DNSName": "microvm-main-1.example.ts.net.", "TailscaleIPs": ["fd7a:115c:a1e0::9", "100.64.0.9"], "Online": true},
   "nodekey:laptop": {"HostName": "laptop", "TailscaleIPs": ["100.64.0.3"], "Online": true},
   "nodekey:v6only": {"HostName": "microvm-edge", "TailscaleIPs": ["fd7a:115c:a1e0::7"], "Online": true}}}
EOF
}

@test "each host by its tailnet HostName (the online device first, its IPv4 address), labelled with its stack name" {
  status
  run --separate-stderr "$SCRIPTS/tailnet-targets.sh" --output "$OUT" 9100 main=microvm-main
  [ "$status" -eq 0 ]
  [ "$(jq -c . "$OUT")" = '[{"targets":["100.64.0.9:9100"],"labels":{"host":"main"}}]' ]
}

@test "a host the tailnet does not know, or knows without an IPv4 address, is still listed, by name, so its up is 0" {
  status
  "$SCRIPTS/tailnet-targets.sh" --output "$OUT" 9100 gone=microvm-gone edge=microvm-edge main=microvm-main
  [ "$(jq -c '[.[] | [.labels.host, .targets[0]]]' "$OUT")" = '[["gone","microvm-gone:9100"],["edge","microvm-edge:9100"],["main","100.64.0.9:9100"]]' ]
}

@test "tailscaled not running: every host by name, still a valid list" {
  "$SCRIPTS/tailnet-targets.sh" --output "$OUT" 9100 main=microvm-main
  [ "$(jq -c . "$OUT")" = '[{"targets":["microvm-main:9100"],"labels":{"host":"main"}}]' ]
}

@test "Prometheus accepts the file as its file_sd list" {
  status
  "$SCRIPTS/tailnet-targets.sh" --output "$OUT" 9100 main=microvm-main gone=microvm-gone
  jq -n --arg f "$OUT" '{scrape_configs: [{job_name: "node", file_sd_configs: [{files: [$f]}]}]}' >"$BATS_TEST_TMPDIR/prometheus.json"
  run promtool check config "$BATS_TEST_TMPDIR/prometheus.json"
  [ "$status" -eq 0 ]
  [[ "$output" != *WARNING* ]]
}

@test "usage: an argument that is not HOST=TAILNETNAME, a relative output or no host exits 2" {
  for args in "--output $OUT 9100 main" "--output $OUT 9100 Main=x" "--output rel.json 9100 main=microvm-main" "--output $OUT 9100" "--output $OUT port main=x"; do
    # shellcheck disable=SC2086 # split on purpose
    run --separate-stderr "$SCRIPTS/tailnet-targets.sh" $args
    [ "$status" -eq 2 ] || { echo "exit $status for: $args" >&2; return 1; }
    [ "$stderr" = "Usage: tailnet-targets.sh --output FILE PORT HOST=TAILNETNAME..." ]
  done
}

@test "the script and its fake pass shellcheck" {
  shellcheck "$SCRIPTS/tailnet-targets.sh" "$FAKES/tailscale"
}
