#!/usr/bin/env bats
# nixos/modules/observability.nix evaluated without nixpkgs: the few lib and pkgs functions it uses
# are written out here (mkIf as a plain `if`, mkMerge as a recursive merge, packages as their store
# path names), so the test sees which NixOS options the module sets to which generated values. That
# NixOS accepts them is checked against the option declarations read in nixpkgs
# (docs/observability.md) and, for real, only when the flake is built.
# shellcheck disable=SC2154 # bats' run sets $output, $status and $stderr

load helpers

setup() {
  require_tools nix-instantiate jq
  nix_setup
}

# module FIXTURE: what the module sets for FIXTURE, as JSON.
# shellcheck disable=SC2016 # Nix, not shell, expands ${...} here
module() {
  nix_eval '{ module, fixture }:
    let
      inherit (builtins) attrNames concatStringsSep isAttrs listToAttrs map match;
      foldl = builtins.foldl'"'"';
      merge = a: b: foldl (acc: n: acc // { ${n} = if isAttrs (acc.${n} or null) && isAttrs b.${n} then merge acc.${n} b.${n} else b.${n}; }) a (attrNames b);
      escape = s: if match "[[:alnum:],._+:@%/-]+" s != null then s else "'"'"'${s}'"'"'";
      lib = {
        mkIf = c: v: if c then v else { };
        mkMerge = foldl merge { };
        mkAfter = v: v;
        mapAttrs = f: s: listToAttrs (map (n: { name = n; value = f n s.${n}; }) (attrNames s));
        mapAttrsToList = f: s: map (n: f n s.${n}) (attrNames s);
        concatMapStrings = f: xs: concatStringsSep "" (map f xs);
        escapeShellArgs = xs: concatStringsSep " " (map escape xs);
        getExe = p: "${p.out}/bin/${p.name}";
      };
      pkg = name: { inherit name; out = "/nix/store/${name}"; };
      pkgs = {
        writeShellApplication = a: pkg a.name // { text = a.text; };
        writeText = name: text: "/nix/store/${name}";
        linkFarm = name: entries: "/nix/store/${name}";
        coreutils = "coreutils"; jq = "jq"; systemd = "systemd"; cloud-hypervisor = "cloud-hypervisor";
      };
      config.services.tailscale.package = "tailscale";
      infra = builtins.fromJSON (builtins.readFile fixture);
    in
    import module { inherit lib pkgs config infra; }' \
    --argstr module "$NIXOS/modules/observability.nix" --argstr fixture "$1"
}

@test "off: the module sets nothing at all" {
  for f in "$FIXTURES/five-slots.json" "$FIXTURES/fleet-main.json" "$FIXTURES/workloads.json"; do
    jq -e 'has("observability") | not' "$f"
    run --separate-stderr module "$f"
    [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
    [ "$output" = '{}' ]
  done
}

@test "the example (one host, the collector): Prometheus with the generated configuration and its rules file, Alertmanager only showing, Grafana provisioned" {
  run --separate-stderr module "$NIXOS/infra.json"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  echo "$output" >"$BATS_TEST_TMPDIR/set.json"
  generate observability "$NIXOS/infra.json" >"$BATS_TEST_TMPDIR/obs.json"
  # Prometheus: exactly the generated configuration, plus the rules file the module writes.
  [ "$(jq -c '.services.prometheus | [.enable, .port, .listenAddress, .extraFlags]' "$BATS_TEST_TMPDIR/set.json")" = \
    '[true,9090,"0.0.0.0",["--storage.tsdb.retention.time=15d","--storage.tsdb.retention.size=8GB"]]' ]
  diff <(jq -S '.services.prometheus.configText | fromjson' "$BATS_TEST_TMPDIR/set.json") \
    <(jq -S '.prometheus.config + { rule_files: ["/nix/store/microvm-infra-alerts.json"] }' "$BATS_TEST_TMPDIR/obs.json")
  [ "$(jq -c '.services.prometheus.alertmanager | [.enable, .checkConfig, .environmentFile, .configuration.route.receiver]' "$BATS_TEST_TMPDIR/set.json")" = '[true,true,null,"shown-only"]' ]
  # shellcheck disable=SC2016 # Grafana's $__file{}, not expanded here
  [ "$(jq -c '.services.grafana.settings | [.server, .security, ."auth.anonymous"]' "$BATS_TEST_TMPDIR/set.json")" = \
    '[{"http_addr":"0.0.0.0","http_port":3000},{"admin_password":"$__file{/var/lib/grafana/admin-password}","secret_key":"$__file{/var/lib/grafana/secret-key}"},{"enabled":true,"org_role":"Viewer"}]' ]
  [ "$(jq -c '.services.grafana.provision | [.enable, .datasources.settings.datasources[].url, .dashboards.settings.providers[0].options.path]' "$BATS_TEST_TMPDIR/set.json")" = \
    '[true,"http://127.0.0.1:9090","http://127.0.0.1:9093","/nix/store/microvm-infra-dashboards"]' ]
  [ "$(jq -r '.systemd.services["microvm-grafana-secrets"].serviceConfig.ExecStart' "$BATS_TEST_TMPDIR/set.json")" = "/nix/store/grafana-secrets/bin/grafana-secrets /var/lib/grafana grafana grafana" ]
}

@test "every host: the node exporter with its textfile directory, the exporters on timers with their arguments, memory limits, the journal, tailnet-only ports" {
  run --separate-stderr module "$NIXOS/infra.json"
  [ "$status" -eq 0 ]
  echo "$output" >"$BATS_TEST_TMPDIR/set.json"
  [ "$(jq -c '.services.prometheus.exporters.node' "$BATS_TEST_TMPDIR/set.json")" = \
    '{"enable":true,"enabledCollectors":["textfile"],"extraFlags":["--collector.textfile.directory=/var/lib/microvm-infra/metrics"],"listenAddress":"0.0.0.0","port":9100}' ]
  [ "$(jq -r '.systemd.services["microvm-slot-metrics"].serviceConfig.ExecStart' "$BATS_TEST_TMPDIR/set.json")" = \
    "/nix/store/slot-metrics/bin/slot-metrics --output /var/lib/microvm-infra/metrics/slots.prom slot1:1:1024 slot2:1:1024 slot3:1:1024 slot4:1:1024 slot5:2:2048" ]
  [ "$(jq -r '.systemd.services["microvm-vm-state-metrics"].serviceConfig.ExecStart' "$BATS_TEST_TMPDIR/set.json")" = \
    "/run/current-system/sw/bin/vm-state metrics --output /var/lib/microvm-infra/metrics/vm-state.prom" ]
  [ "$(jq -c '.systemd.timers["microvm-slot-metrics"]' "$BATS_TEST_TMPDIR/set.json")" = \
    '{"timerConfig":{"AccuracySec":"1s","OnBootSec":"15s","OnUnitActiveSec":"15s"},"wantedBy":["timers.target"]}' ]
  [ "$(jq -c '[.systemd.services | to_entries[] | select(.value.serviceConfig.MemoryMax) | [.key, .value.serviceConfig.MemoryMax]]' "$BATS_TEST_TMPDIR/set.json")" = \
    '[["alertmanager","128M"],["grafana","512M"],["prometheus","1024M"],["prometheus-node-exporter","128M"]]' ]
  # The exporters share one limit, the share the capacity check counts: their slice's.
  [ "$(jq -c '.systemd.slices' "$BATS_TEST_TMPDIR/set.json")" = '{"microvm-exporters":{"sliceConfig":{"MemoryMax":"128M"}}}' ]
  [ "$(jq -c '[.systemd.services | to_entries[] | select(.value.serviceConfig.Slice) | [.key, .value.serviceConfig.Slice]]' "$BATS_TEST_TMPDIR/set.json")" = \
    '[["microvm-deploy-metrics","microvm-exporters.slice"],["microvm-slot-metrics","microvm-exporters.slice"],["microvm-vm-state-metrics","microvm-exporters.slice"]]' ]
  [ "$(jq -r '.services.journald.extraConfig' "$BATS_TEST_TMPDIR/set.json")" = "$(printf 'SystemMaxUse=4G\nMaxRetentionSec=14day')" ]
  [ "$(jq -c '.networking.firewall.interfaces' "$BATS_TEST_TMPDIR/set.json")" = '{"tailscale0":{"allowedTCPPorts":[9100,9090,9093,3000]}}' ]
  [[ "$(jq -r '.networking.nftables.ruleset' "$BATS_TEST_TMPDIR/set.json")" == *'table inet microvm_observability {'* ]]
}

@test "the fleet's collector: the webhook from its environment file (amtool not run on the unsubstituted URL); an agent runs no server" {
  run --separate-stderr module "$FIXTURES/observability-big.json"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  # shellcheck disable=SC2016 # the variable's name, not expanded here
  [ "$(jq -c '.services.prometheus.alertmanager | [.checkConfig, .environmentFile, .configuration.receivers[0].webhook_configs[0].url]' <<<"$output")" = \
    '[false,"/var/lib/microvm-infra/secrets/alertmanager-webhook.env","${MICROVM_ALERT_WEBHOOK_URL}"]' ]
  [ "$(jq -r '.systemd.services["microvm-tailnet-targets"].serviceConfig.ExecStart' <<<"$output")" = \
    "/nix/store/tailnet-targets/bin/tailnet-targets --output /var/lib/microvm-infra/observability/tailnet-targets.json 9100 'main=microvm-main'" ]
  run --separate-stderr module "$FIXTURES/observability-main.json"
  [ "$status" -eq 0 ]
  [ "$(jq -c '[.services.prometheus.enable, .services.prometheus.alertmanager, .services.grafana, .services.prometheus.exporters.node.enable]' <<<"$output")" = '[null,null,null,true]' ]
  [ "$(jq -c '.networking.firewall.interfaces' <<<"$output")" = '{"tailscale0":{"allowedTCPPorts":[9100]}}' ]
  [ "$(jq -c '.systemd.services | keys' <<<"$output")" = '["microvm-deploy-metrics","microvm-slot-metrics","microvm-vm-state-metrics","prometheus-node-exporter"]' ]
}
