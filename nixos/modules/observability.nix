# Observability (docs/observability.md), when infra.json has an `observability` block; otherwise this
# module sets nothing. Every value comes from ../lib/observability.nix (pure, tested here):
#   every host: the node exporter (textfile collector), the slots' and deployment's exporters and
#     vm-state's metrics as timers, the journal's retention, the tailnet-only table, memory limits;
#   the collector: Prometheus (the alert rules), Alertmanager (a webhook from a root-only
#     environment file, or alerts only shown) and Grafana (data sources and dashboards provisioned,
#     anonymous viewers on the tailnet, its secrets made on the host).
# Options used, as in nixpkgs' modules (docs/observability.md lists where each was read):
# services.prometheus.{enable,port,listenAddress,configText,extraFlags}, .exporters.node.{enable,port,
# listenAddress,enabledCollectors,extraFlags}, .alertmanager.{enable,port,listenAddress,configuration,
# environmentFile,checkConfig}, services.grafana.{enable,settings,provision.{enable,datasources.settings,
# dashboards.settings}}, services.journald.extraConfig, networking.nftables.ruleset,
# networking.firewall.interfaces.<name>.allowedTCPPorts.
{ config, lib, pkgs, infra, ... }:
let
  obs = import ../lib/observability.nix infra;
  grafanaDir = "/var/lib/grafana";

  # Each script sources ../scripts/metrics-lib.bash when run from a checkout; here the file is
  # concatenated in front of it, so shellcheck (writeShellApplication) checks the whole.
  script = name: runtimeInputs: pkgs.writeShellApplication {
    inherit name;
    runtimeInputs = runtimeInputs ++ [ pkgs.coreutils pkgs.jq ];
    text = lib.concatMapStrings builtins.readFile [ ../scripts/metrics-lib.bash (../scripts + "/${name}.sh") ];
  };
  programs = {
    slot-metrics = script "slot-metrics" [ pkgs.systemd pkgs.cloud-hypervisor ];
    deploy-metrics = script "deploy-metrics" [ ];
    tailnet-targets = script "tailnet-targets" [ config.services.tailscale.package ];
  };
  # argv[0] is a program packaged here, or an absolute path (vm-state of the running system).
  command = argv:
    let head = builtins.head argv; in
    lib.escapeShellArgs ([ (if programs ? ${head} then lib.getExe programs.${head} else head) ] ++ builtins.tail argv);

  exporterService = name: e: {
    inherit (e) description;
    # A switch does not restart a run in progress; the timer starts the new one.
    restartIfChanged = false;
    serviceConfig = {
      Type = "oneshot";
      ExecStart = command e.argv;
      Slice = "${obs.exportersSlice.name}.slice";
      NoNewPrivileges = true;
      PrivateTmp = true;
    };
  };
  exporterTimer = _: e: {
    wantedBy = [ "timers.target" ];
    timerConfig = {
      OnBootSec = e.every;
      OnUnitActiveSec = e.every;
      AccuracySec = "1s";
    };
  };

  dashboards = pkgs.linkFarm "microvm-infra-dashboards" (lib.mapAttrsToList (file: d: {
    name = file;
    path = pkgs.writeText file (builtins.toJSON d);
  }) obs.grafana.dashboards);
  grafana-secrets = pkgs.writeShellApplication {
    name = "grafana-secrets";
    runtimeInputs = [ pkgs.coreutils ];
    text = builtins.readFile ../scripts/grafana-secrets.sh;
  };
in
lib.mkIf obs.enabled (lib.mkMerge [
  {
    services.prometheus.exporters.node = {
      enable = true;
      port = obs.ports.nodeExporter;
      # Every address: ../lib/observability.nix's table and the NixOS firewall keep it to the tailnet.
      listenAddress = "0.0.0.0";
      enabledCollectors = obs.nodeExporter.collectors;
      extraFlags = obs.nodeExporter.flags;
    };
    systemd.tmpfiles.rules = [
      "d ${obs.textfileDir} 0755 root root -"
      "d /var/lib/microvm-infra/observability 0755 root root -"
    ];
    systemd.services = lib.mkMerge [
      (lib.mapAttrs exporterService obs.exporters)
      (lib.mapAttrs (_: max: { serviceConfig.MemoryMax = max; }) obs.memoryMax)
    ];
    systemd.timers = lib.mapAttrs exporterTimer obs.exporters;
    # One limit for all the exporters together: the share the capacity check counts.
    systemd.slices.${obs.exportersSlice.name}.sliceConfig.MemoryMax = obs.exportersSlice.memoryMax;

    # Logs stay in each host's journal: the host, every slot's console and unit
    # (journalctl -u microvm@<slot>), the egress proxy's decisions (journalctl -t egress_<slot>).
    services.journald.extraConfig = obs.journald;

    # Beside the slots' table (../lib/nftables.nix): these ports only from the tailnet and the host.
    networking.nftables.ruleset = lib.mkAfter obs.nftables;
    networking.firewall.interfaces.tailscale0.allowedTCPPorts = obs.tailnetPorts;
  }

  (lib.mkIf obs.collector {
    services.prometheus = {
      enable = true;
      port = obs.ports.prometheus;
      listenAddress = "0.0.0.0";
      # The whole configuration from ../lib/observability.nix, with its rules file; checked at build
      # by nixpkgs' promtool step (the tailnet list of a fleet is written at run time: a warning).
      configText = builtins.toJSON (obs.prometheus.config // {
        rule_files = [ (pkgs.writeText "microvm-infra-alerts.json" (builtins.toJSON obs.rules)) ];
      });
      extraFlags = obs.prometheus.flags;
    };

    services.prometheus.alertmanager = {
      enable = true;
      port = obs.ports.alertmanager;
      listenAddress = "0.0.0.0";
      configuration = obs.alertmanager.config;
      # The webhook's URL is substituted from this root-only file when Alertmanager starts; amtool
      # cannot check the unsubstituted URL at build time (the tests check it substituted).
      environmentFile = obs.alertmanager.envFile;
      checkConfig = obs.alertmanager.envFile == null;
    };

    services.grafana = {
      enable = true;
      settings = {
        server = {
          http_addr = "0.0.0.0";
          http_port = obs.ports.grafana;
        };
        security = {
          secret_key = "$__file{${grafanaDir}/secret-key}";
          admin_password = "$__file{${grafanaDir}/admin-password}";
        };
        # The tailnet is the door: whoever reaches it may look; changes need the admin.
        "auth.anonymous" = {
          enabled = true;
          org_role = "Viewer";
        };
        users.allow_sign_up = false;
        analytics = {
          reporting_enabled = false;
          check_for_updates = false;
        };
      };
      provision = {
        enable = true;
        datasources.settings = obs.grafana.datasources;
        dashboards.settings = {
          apiVersion = 1;
          providers = [ {
            name = "microvm-infra";
            type = "file";
            disableDeletion = true;
            allowUiUpdates = false;
            options.path = dashboards;
          } ];
        };
      };
    };
    systemd.services.microvm-grafana-secrets = {
      description = "Make Grafana's secret key and admin password (once)";
      wantedBy = [ "grafana.service" ];
      before = [ "grafana.service" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        # nixpkgs' grafana module runs Grafana as the user (and group) "grafana".
        ExecStart = lib.escapeShellArgs [ (lib.getExe grafana-secrets) grafanaDir "grafana" "grafana" ];
      };
    };
  })
])
