# infra -> what this host runs for observability (docs/observability.md), from infra.json's
# `observability` block (docs/deployment-data.md); all of it empty when the block is absent:
#   enabled, collector     the block is there; this host runs Prometheus, Alertmanager and Grafana
#   ports                  { nodeExporter; prometheus; alertmanager; grafana; } of the services this
#                          host runs (infra.json; the program's table infra/config/observability.ts)
#   tailnetPorts           those ports: opened to the tailnet, and nowhere else
#   textfileDir            where the exporters write and the node exporter's textfile collector reads
#   nodeExporter           { collectors = [ ... ]; flags = [ ... ]; }
#   exporters              { <unit> = { description; argv = [ <program> args... ]; every; }; }: the
#                          textfile exporters as timers; argv[0] is one of the programs the module
#                          packages (slot-metrics, deploy-metrics, tailnet-targets) or vm-state's path
#   memoryMax              { <systemd unit> = "<N>M"; }: each service's limit, from memoryMiB
#   exportersSlice         { name; memoryMax; }: the slice all the exporters' units run in, its
#                          limit their one share (memoryMiB.exporters, what the capacity check
#                          counts): timers that fire together share it, they do not add up
#   journald               text for journald.conf: the logs' retention and size
#   prometheus             { config; flags; }: the whole configuration but `rule_files` (the module
#                          adds the rules file), and the retention flags
#   rules                  the alert rules (./observability-rules.nix), a Prometheus rule file as JSON
#   alertmanager           { config; envFile; }: envFile (or null) holds the webhook's variable
#   grafana                { datasources; dashboards; }: the data sources' provisioning and the
#                          dashboards (./observability-dashboards.nix) by file name
#   nftables               the table `inet microvm_observability`: these ports only from the
#                          tailnet and the host itself
#
# Builtins only (no nixpkgs): tests/bats/observability evaluates it, runs the configuration and rules
# through promtool, Alertmanager's through amtool, and loads the table into a namespace with nft.
infra:
let
  inherit (builtins)
    attrNames
    concatLists
    concatStringsSep
    elem
    filter
    isAttrs
    isInt
    isList
    listToAttrs
    map
    toJSON
    ;

  R = import ./rules.nix;
  inherit (import ./shown.nix) shown key;
  slots = import ./slot-defaults.nix infra;
  obs = infra.observability or null;
  enabled = obs != null;
  collector = enabled && (obs.role or null) == "collector";

  textfileDir = "/var/lib/microvm-infra/metrics";
  # The collector's list of the other hosts' node exporters on the tailnet (tailnet-targets.sh).
  targetsFile = "/var/lib/microvm-infra/observability/tailnet-targets.json";
  tailnetInterface = "tailscale0";

  # --- the block, checked (every problem at once, in validate.nix's wording) ---
  bad = path: value: valid: [ "${path}: ${shown value} is not valid; expected ${valid}" ];
  field = path: rule: set: key:
    if !(set ? ${key}) then [ "${path}.${key}: missing; expected ${rule.valid}" ]
    else if rule.ok set.${key} then [ ]
    else bad "${path}.${key}" set.${key} rule.valid;
  unknownKeys = path: set: known:
    map (k: "${path}.${key k}: unknown key; expected only ${concatStringsSep ", " known}") (filter (k: !(elem k known)) (attrNames set));
  positive = R.positive;
  percent = { ok = v: isInt v && v >= 50 && v <= 99; valid = "a whole number from 50 to 99"; };
  services = [ "prometheus" "alertmanager" "grafana" "nodeExporter" "exporters" ];
  retention = path: v:
    if !(isAttrs v) then bad path v "an object such as {\"retentionDays\": 14, \"maxGiB\": 4}"
    else unknownKeys path v [ "retentionDays" "maxGiB" ] ++ field path positive v "retentionDays" ++ field path positive v "maxGiB";
  listOf = path: v: valid: each:
    if !(isList v) then bad path v valid
    else concatLists (builtins.genList (i: let e = builtins.elemAt v i; at = "${path}[${toString i}]"; in if isAttrs e then each at e else bad at e valid) (builtins.length v));
  alertProblems = a:
    if !(isAttrs a) then bad "observability.alerts" a "an object"
    else
      unknownKeys "observability.alerts" a [ "volumeFullPercent" "snapshots" "replicas" "webhook" ]
      ++ field "observability.alerts" percent a "volumeFullPercent"
      ++ listOf "observability.alerts.snapshots" (a.snapshots or null) "a list of { host, state, everyMinutes }" (at: e:
        unknownKeys at e [ "host" "state" "everyMinutes" ] ++ field at R.fleetHostName e "host" ++ field at R.stateName e "state" ++ field at positive e "everyMinutes")
      ++ listOf "observability.alerts.replicas" (a.replicas or null) "a list of { host, state, to, everyMinutes }" (at: e:
        unknownKeys at e [ "host" "state" "to" "everyMinutes" ] ++ field at R.fleetHostName e "host" ++ field at R.stateName e "state"
        ++ field at R.fleetHostName e "to" ++ field at positive e "everyMinutes")
      ++ (if (a.webhook or null) == null then [ ] else
        let w = a.webhook; at = "observability.alerts.webhook"; in
        if !(isAttrs w) then bad at w "an object { envFile, variable }"
        else unknownKeys at w [ "envFile" "variable" ] ++ field at R.absolutePath w "envFile"
          ++ field at { ok = v: builtins.isString v && builtins.match "[A-Z_][A-Z0-9_]*" v != null; valid = "an environment variable name (A-Z, 0-9, _)"; } w "variable");
  problems =
    if !(isAttrs obs) then bad "observability" obs "an object (or no observability key: it is off)"
    else
      unknownKeys "observability" obs [ "host" "role" "memoryMiB" "ports" "logs" "metrics" "scrape" "alerts" ]
      ++ field "observability" R.fleetHostName obs "host"
      ++ field "observability" { ok = v: elem v [ "collector" "agent" ]; valid = "\"collector\" or \"agent\""; } obs "role"
      ++ (let m = obs.memoryMiB or null; in
        if !(isAttrs m) then bad "observability.memoryMiB" m "an object of service name to MiB"
        else unknownKeys "observability.memoryMiB" m services ++ concatLists (map (k: field "observability.memoryMiB" positive m k) (attrNames m)))
      ++ (let p = obs.ports or null; in
        if !(isAttrs p) then bad "observability.ports" p "an object of service name to TCP port"
        else unknownKeys "observability.ports" p services ++ concatLists (map (k: field "observability.ports" R.port p k) (attrNames p))
          ++ concatLists (map (k: if p ? ${k} then [ ] else [ "observability.ports.${k}: missing; expected ${R.port.valid}" ])
            ([ "nodeExporter" ] ++ (if collector then [ "prometheus" "alertmanager" "grafana" ] else [ ]))))
      ++ retention "observability.logs" (obs.logs or null)
      ++ (if collector then
        retention "observability.metrics" (obs.metrics or null)
        ++ listOf "observability.scrape" (obs.scrape or null) "a list of { host, tailnetName }, this host first" (at: e:
          unknownKeys at e [ "host" "tailnetName" ] ++ field at R.fleetHostName e "host" ++ field at R.hostName e "tailnetName")
        ++ (if isList (obs.scrape or null) && obs.scrape != [ ] && ((builtins.head obs.scrape).host or null) != (obs.host or null) then
          [ "observability.scrape[0].host: ${shown ((builtins.head obs.scrape).host or null)} is not valid; expected this host (${shown (obs.host or null)}): the collector scrapes itself first" ] else [ ])
        ++ alertProblems (obs.alerts or null)
        else [ ]);
  checked = if !enabled || problems == [ ] then obs else throw (concatStringsSep "\n" (map (p: "infra.json: ${p}") problems));

  # --- what every host runs ---
  memoryUnits = {
    prometheus = [ "prometheus" ];
    alertmanager = [ "alertmanager" ];
    grafana = [ "grafana" ];
    nodeExporter = [ "prometheus-node-exporter" ];
  };
  exportersSlice = { name = "microvm-exporters"; memoryMax = "${toString checked.memoryMiB.exporters}M"; };
  memoryMax = listToAttrs (concatLists (map (service:
    map (unit: { name = unit; value = "${toString checked.memoryMiB.${service}}M"; }) (memoryUnits.${service} or [ ])
  ) (attrNames checked.memoryMiB)));

  # Each slot's exporter argument: name, vCPUs, memory (MiB), as slot-metrics.sh reads them.
  slotArgs = map (s: "${s.name}:${toString s.vcpu}:${toString s.memMiB}") slots;
  peers = if collector then builtins.tail checked.scrape else [ ];
  exporters = {
    microvm-slot-metrics = {
      description = "Write the slots' metrics for the node exporter";
      argv = [ "slot-metrics" "--output" "${textfileDir}/slots.prom" ] ++ slotArgs;
      every = "15s";
    };
    microvm-deploy-metrics = {
      description = "Write the deployment's metrics for the node exporter";
      argv = [ "deploy-metrics" "--output" "${textfileDir}/deploy.prom" ];
      every = "60s";
    };
    # The command agreed with vm-state (its metrics: lib/metrics/vm-state.json).
    microvm-vm-state-metrics = {
      description = "Write vm-state's metrics for the node exporter";
      argv = [ (import ./paths.nix).vmState "metrics" "--output" "${textfileDir}/vm-state.prom" ];
      every = "30s";
    };
  } // (if peers == [ ] then { } else {
    microvm-tailnet-targets = {
      description = "Find the other hosts' node exporters on the tailnet";
      argv = [ "tailnet-targets" "--output" targetsFile (toString ports.nodeExporter) ] ++ map (p: "${p.host}=${p.tailnetName}") peers;
      every = "60s";
    };
  });

  # The files the exporters write into textfileDir, with the unit that writes each: [ { unit; file; } ]
  # (the rules alert when one is missing).
  outputOf = argv:
    if builtins.length argv < 2 then null
    else if builtins.head argv == "--output" then builtins.elemAt argv 1
    else outputOf (builtins.tail argv);
  textfiles = filter (t: t.file != null && dirOf t.file == textfileDir)
    (map (unit: { inherit unit; file = outputOf exporters.${unit}.argv; }) (attrNames exporters));

  journald = ''
    SystemMaxUse=${toString checked.logs.maxGiB}G
    MaxRetentionSec=${toString checked.logs.retentionDays}day
  '';

  # --- the collector ---
  local = port: "127.0.0.1:${toString port}";
  self = checked.host;
  prometheus = {
    config = {
      global = {
        scrape_interval = "30s";
        scrape_timeout = "10s";
        evaluation_interval = "30s";
      };
      alerting.alertmanagers = [ { static_configs = [ { targets = [ (local ports.alertmanager) ]; } ]; } ];
      scrape_configs = [
        ({
          job_name = "node";
          static_configs = [ { targets = [ (local ports.nodeExporter) ]; labels.host = self; } ];
          # `instance` is the host's name, not an address that changes with the tailnet.
          relabel_configs = [ { source_labels = [ "host" ]; target_label = "instance"; } ];
        } // (if peers == [ ] then { } else { file_sd_configs = [ { files = [ targetsFile ]; refresh_interval = "1m"; } ]; }))
        { job_name = "prometheus"; static_configs = [ { targets = [ (local ports.prometheus) ]; labels.host = self; } ]; }
        { job_name = "alertmanager"; static_configs = [ { targets = [ (local ports.alertmanager) ]; labels.host = self; } ]; }
      ];
    };
    flags = [
      "--storage.tsdb.retention.time=${toString checked.metrics.retentionDays}d"
      "--storage.tsdb.retention.size=${toString checked.metrics.maxGiB}GB"
    ];
  };

  webhook = checked.alerts.webhook or null;
  alertmanager = {
    config = {
      route = {
        receiver = if webhook == null then "shown-only" else "webhook";
        group_by = [ "alertname" "host" ];
        group_wait = "30s";
        group_interval = "5m";
        repeat_interval = "4h";
      };
      receivers =
        if webhook == null then
          [ { name = "shown-only"; } ]
        else
          # NixOS substitutes the variable from the environment file when Alertmanager starts
          # (envsubst); the URL itself is never in this file or the Nix store.
          [ { name = "webhook"; webhook_configs = [ { url = "\${${webhook.variable}}"; send_resolved = true; } ]; } ];
    };
    envFile = if webhook == null then null else webhook.envFile;
  };

  grafana = {
    datasources = {
      apiVersion = 1;
      datasources = [
        { name = "Prometheus"; type = "prometheus"; uid = "prometheus"; access = "proxy"; url = "http://${local ports.prometheus}"; isDefault = true; editable = false; jsonData.timeInterval = "30s"; }
        { name = "Alertmanager"; type = "alertmanager"; uid = "alertmanager"; access = "proxy"; url = "http://${local ports.alertmanager}"; editable = false; jsonData.implementation = "prometheus"; }
      ];
    };
    dashboards = import ./observability-dashboards.nix;
  };

  ports = checked.ports;
  tailnetPorts = if !enabled then [ ] else map (s: ports.${s}) (filter (s: ports ? ${s}) [ "nodeExporter" "prometheus" "alertmanager" "grafana" ]);
  portSet = concatStringsSep ", " (map toString tailnetPorts);
  nftables = ''
    # Generated by nixos/lib/observability.nix from infra.json: observability's ports (${portSet})
    # answer the tailnet and the host itself, nobody else (not the internet, not the slots).
    table inet microvm_observability
    delete table inet microvm_observability
    table inet microvm_observability {
      chain input {
        type filter hook input priority filter - 1; policy accept;
        tcp dport { ${portSet} } iifname != { "lo", "${tailnetInterface}" } counter drop comment "observability: the tailnet only"
      }
    }
  '';
in
if !enabled then
  {
    inherit enabled collector textfileDir;
    ports = { };
    tailnetPorts = [ ];
    nodeExporter = { collectors = [ ]; flags = [ ]; };
    exporters = { };
    memoryMax = { };
    exportersSlice = null;
    journald = "";
    prometheus = null;
    rules = null;
    alertmanager = null;
    grafana = null;
    nftables = "";
  }
else
  {
    inherit enabled collector ports textfileDir tailnetPorts exporters memoryMax exportersSlice journald nftables;
    nodeExporter = {
      collectors = [ "textfile" ];
      flags = [ "--collector.textfile.directory=${textfileDir}" ];
    };
    prometheus = if collector then prometheus else null;
    rules = if collector then import ./observability-rules.nix (checked // { inherit textfiles; }) else null;
    alertmanager = if collector then alertmanager else null;
    grafana = if collector then grafana else null;
  }
