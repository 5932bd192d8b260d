# The Grafana dashboards, by file name (the module writes each as JSON into the directory Grafana's
# file provider reads): the fleet overview, one host, one slot (README.md "Observability" lists
# their panels). Nothing here names a host or a slot: they are template variables read from the
# metrics. Every metric a query names is in lib/metrics/*.json (a test parses every expression),
# and every expression is valid PromQL (the test runs them through promtool).
#
# Builtins only (no nixpkgs).
let
  inherit (builtins) genList length elemAt listToAttrs;

  prometheus = { type = "prometheus"; uid = "prometheus"; };

  # A query: EXPR drawn with LEGEND (Grafana's {{label}} syntax).
  q = expr: legend: { inherit expr; legendFormat = legend; };

  timeseries = title: unit: queries: {
    type = "timeseries";
    inherit title;
    datasource = prometheus;
    targets = genList (i: (elemAt queries i) // { refId = builtins.substring i 1 "ABCDEFGHIJ"; datasource = prometheus; }) (length queries);
    fieldConfig = { defaults = { inherit unit; custom.fillOpacity = 10; }; overrides = [ ]; };
    options = { legend = { displayMode = "list"; placement = "bottom"; showLegend = true; }; tooltip = { mode = "multi"; sort = "desc"; }; };
    w = 12;
  };
  stat = title: unit: expr: {
    type = "stat";
    inherit title;
    datasource = prometheus;
    targets = [ { refId = "A"; inherit expr; instant = true; datasource = prometheus; } ];
    fieldConfig = { defaults = { inherit unit; }; overrides = [ ]; };
    options = { reduceOptions = { calcs = [ "lastNotNull" ]; fields = ""; values = false; }; colorMode = "value"; graphMode = "none"; textMode = "auto"; };
    w = 4;
  };
  # A table of instant queries, one column each, joined on their labels.
  table = title: columns: {
    type = "table";
    inherit title;
    datasource = prometheus;
    targets = genList (i: let c = elemAt columns i; in {
      refId = builtins.substring i 1 "ABCDEFGHIJ";
      expr = c.expr;
      instant = true;
      format = "table";
      datasource = prometheus;
    }) (length columns);
    transformations = [
      { id = "merge"; options = { }; }
      { id = "organize"; options = {
          excludeByName = { Time = true; job = true; instance = true; };
          renameByName = listToAttrs (genList (i: { name = "Value #${builtins.substring i 1 "ABCDEFGHIJ"}"; value = (elemAt columns i).title; }) (length columns));
        }; }
    ];
    fieldConfig = { defaults = { }; overrides = genList (i: {
      matcher = { id = "byName"; options = (elemAt columns i).title; };
      properties = [ { id = "unit"; value = (elemAt columns i).unit; } ];
    }) (length columns); };
    options.showHeader = true;
    w = 24;
  };
  column = title: unit: expr: { inherit title unit expr; };
  text = title: content: { type = "text"; inherit title; options = { mode = "markdown"; inherit content; }; w = 24; h = 4; };

  # Panels flow left to right in rows 24 units wide; each panel keeps its width (w) and height (h, 8).
  layout = panels:
    let
      place = acc: p:
        let
          h = p.h or 8;
          wrap = acc.x + p.w > 24;
          x = if wrap then 0 else acc.x;
          y = if wrap then acc.y + acc.rowH else acc.y;
          rowH = if wrap then h else (if h > acc.rowH then h else acc.rowH);
        in
        {
          x = x + p.w;
          inherit y rowH;
          out = acc.out ++ [ (removeAttrs p [ "w" "h" ] // { id = length acc.out + 1; gridPos = { inherit x y h; inherit (p) w; }; }) ];
        };
    in
    (builtins.foldl' place { x = 0; y = 0; rowH = 0; out = [ ]; } panels).out;

  variable = name: label: query: {
    inherit name label;
    type = "query";
    datasource = prometheus;
    definition = query;
    query = { inherit query; refId = name; };
    refresh = 2;
    sort = 1;
    includeAll = false;
    multi = false;
  };

  dashboard = uid: title: variables: panels: {
    inherit uid title;
    tags = [ "microvm-infra" ];
    editable = false;
    schemaVersion = 39;
    version = 1;
    timezone = "browser";
    refresh = "30s";
    time = { from = "now-6h"; to = "now"; };
    templating.list = variables;
    links = [ { title = "microvm-infra"; type = "dashboards"; tags = [ "microvm-infra" ]; asDropdown = false; } ];
    panels = layout panels;
  };

  hostVar = variable "host" "Host" ''label_values(up{job="node"}, host)'';
  slotVar = variable "slot" "Slot" ''label_values(microvm_slot_up{host="$host"}, slot)'';
  h = ''host="$host"'';
  hs = ''host="$host",slot="$slot"'';
  rate = metric: "rate(${metric}[$__rate_interval])";
  # The chosen slot's counters, each summed over its devices, as rates: [ [ metric legend ] ... ].
  slotRates = title: unit: counters: timeseries title unit (map (c: q "sum(${rate "${elemAt c 0}{${hs}}"})" (elemAt c 1)) counters);
in
{
  "fleet.json" = dashboard "microvm-fleet" "microvm-infra: fleet" [ ] [
    (stat "Hosts answering" "none" ''sum(up{job="node"})'')
    (stat "Hosts not answering" "none" ''count(up{job="node"} == 0) or vector(0)'')
    (stat "Slots running" "none" "sum(microvm_slot_up)")
    (stat "Slots down" "none" "count(microvm_slot_up == 0) or vector(0)")
    (stat "Alerts firing" "none" ''count(ALERTS{alertstate="firing"}) or vector(0)'')
    (stat "Failed deployments" "none" "count(microvm_deploy_last_switch_success == 0) or vector(0)")
    (timeseries "CPU busy by host" "percent" [ (q ''100 * (1 - avg by (host) (${rate ''node_cpu_seconds_total{mode="idle"}''}))'' "{{host}}") ])
    (timeseries "Memory used by host" "percent" [ (q "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)" "{{host}}") ])
    (timeseries "State volume used" "percent" [ (q "100 * (1 - vm_state_storage_free_bytes / vm_state_storage_size_bytes)" "{{host}}") ])
    (timeseries "Slots: CPU (cores)" "none" [ (q "sum by (host, slot) (${rate "microvm_slot_cpu_seconds_total"})" "{{host}} {{slot}}") ])
    (timeseries "Slots: network received" "Bps" [ (q "sum by (host, slot) (${rate "microvm_slot_network_receive_bytes_total"})" "{{host}} {{slot}}") ])
    (timeseries "Slots: network sent" "Bps" [ (q "sum by (host, slot) (${rate "microvm_slot_network_transmit_bytes_total"})" "{{host}} {{slot}}") ])
    (table "Slots" [
      (column "Running" "none" "microvm_slot_up")
      (column "Restarts (1h)" "none" "round(increase(microvm_slot_restarts_total[1h]))")
      (column "CPU (of its vCPUs)" "percentunit" "sum by (host, slot) (rate(microvm_slot_cpu_seconds_total[5m])) / on (host, slot) microvm_slot_vcpus")
      (column "Memory used" "bytes" "microvm_slot_memory_used_bytes")
      (column "Memory given" "bytes" "microvm_slot_memory_size_bytes")
      (column "Disk written (5m)" "Bps" "sum by (host, slot) (rate(microvm_slot_disk_written_bytes_total[5m]))")
    ])
    (table "States" [
      (column "Size" "bytes" "vm_state_state_size_bytes")
      (column "Allocated" "bytes" "vm_state_state_used_bytes")
      (column "Snapshots" "none" "vm_state_state_snapshots")
      (column "Newest snapshot age" "s" "time() - vm_state_state_newest_snapshot_timestamp_seconds")
    ])
    (table "Replicas" [
      (column "Since the last replication" "s" "time() - vm_state_replica_last_success_timestamp_seconds")
      (column "Newest copy held (age)" "s" "time() - vm_state_replica_newest_timestamp_seconds")
    ])
    (table "Deployments" [
      (column "Generation" "none" "microvm_deploy_generation")
      (column "Since the last switch" "s" "time() - microvm_deploy_last_switch_timestamp_seconds")
      (column "Last switch succeeded" "none" "microvm_deploy_last_switch_success")
    ])
  ];

  "host.json" = dashboard "microvm-host" "microvm-infra: host" [ hostVar ] [
    (stat "Up for" "s" "time() - node_boot_time_seconds{${h}}")
    (stat "NixOS generation" "none" "microvm_deploy_generation{${h}}")
    (stat "Last switch succeeded" "none" "microvm_deploy_last_switch_success{${h}}")
    (stat "Slots running" "none" "sum(microvm_slot_up{${h}})")
    (stat "State volume free" "bytes" "vm_state_storage_free_bytes{${h}}")
    (stat "vm-state change unfinished" "none" "vm_state_journal_pending{${h}}")
    (timeseries "CPU busy" "percent" [ (q "100 * (1 - avg(${rate ''node_cpu_seconds_total{${h},mode="idle"}''}))" "busy") ])
    (timeseries "Load" "none" [ (q "node_load1{${h}}" "1m load") ])
    (timeseries "Memory" "bytes" [
      (q "node_memory_MemTotal_bytes{${h}} - node_memory_MemAvailable_bytes{${h}}" "used")
      (q "node_memory_MemTotal_bytes{${h}}" "total")
    ])
    (timeseries "Disk space free" "bytes" [
      (q ''node_filesystem_avail_bytes{${h},mountpoint="/"}'' "root")
      (q "vm_state_storage_free_bytes{${h}}" "states")
    ])
    (timeseries "Network received" "Bps" [ (q (rate "node_network_receive_bytes_total{${h}}") "{{device}}") ])
    (timeseries "Network sent" "Bps" [ (q (rate "node_network_transmit_bytes_total{${h}}") "{{device}}") ])
    (timeseries "Disk read" "Bps" [ (q (rate "node_disk_read_bytes_total{${h}}") "{{device}}") ])
    (timeseries "Disk written" "Bps" [ (q (rate "node_disk_written_bytes_total{${h}}") "{{device}}") ])
    (timeseries "Slots: CPU (cores)" "none" [ (q "sum by (slot) (${rate "microvm_slot_cpu_seconds_total{${h}}"})" "{{slot}}") ])
    (timeseries "Slots: memory used" "bytes" [ (q "microvm_slot_memory_used_bytes{${h}}" "{{slot}}") ])
    (table "vm-state: last run of each command" [
      (column "Succeeded" "none" "vm_state_last_operation_success{${h}}")
      (column "Exit code" "none" "vm_state_last_operation_exit_code{${h}}")
      (column "Took" "s" "vm_state_last_operation_duration_seconds{${h}}")
      (column "Ago" "s" "time() - vm_state_last_operation_timestamp_seconds{${h}}")
    ])
    (text "Logs" ''
      This host's logs are in its journal, kept for the stack's `observability.logRetentionDays`: `journalctl -b` on the host.
      A slot's console and unit: `journalctl -u microvm@<slot>`. The egress proxy's decisions for a slot: `journalctl -t egress_<slot>` (a `-` in the slot's name is `_`).
    '')
  ];

  "slot.json" = dashboard "microvm-slot" "microvm-infra: slot" [ hostVar slotVar ] [
    (stat "Running" "none" "microvm_slot_up{${hs}}")
    (stat "Restarts (1h)" "none" "round(increase(microvm_slot_restarts_total{${hs}}[1h]))")
    (stat "Up for" "s" "time() - microvm_slot_start_time_seconds{${hs}}")
    (stat "vCPUs" "none" "microvm_slot_vcpus{${hs}}")
    (stat "Memory given" "bytes" "microvm_slot_memory_size_bytes{${hs}}")
    (stat "Device counters read" "none" "microvm_slot_counters_up{${hs}}")
    (timeseries "CPU" "percentunit" [
      (q "sum by (mode) (${rate "microvm_slot_cpu_seconds_total{${hs}}"}) / on () group_left microvm_slot_vcpus{${hs}}" "{{mode}}")
    ])
    (timeseries "Memory" "bytes" [
      (q "microvm_slot_memory_used_bytes{${hs}}" "used")
      (q "microvm_slot_memory_size_bytes{${hs}}" "given")
    ])
    (slotRates "Disk" "Bps" [ [ "microvm_slot_disk_read_bytes_total" "read" ] [ "microvm_slot_disk_written_bytes_total" "written" ] ])
    (slotRates "Disk requests" "iops" [ [ "microvm_slot_disk_reads_total" "reads" ] [ "microvm_slot_disk_writes_total" "writes" ] ])
    (slotRates "Network" "Bps" [ [ "microvm_slot_network_receive_bytes_total" "received" ] [ "microvm_slot_network_transmit_bytes_total" "sent" ] ])
    (slotRates "Network packets" "pps" [ [ "microvm_slot_network_receive_packets_total" "received" ] [ "microvm_slot_network_transmit_packets_total" "sent" ] ])
    (timeseries "Restarts" "none" [ (q "increase(microvm_slot_restarts_total{${hs}}[5m])" "restarts in 5m") ])
    (table "The state it runs" [
      (column "Size" "bytes" "vm_state_state_size_bytes * on (host, state) group_left (slot) vm_state_state_info{${hs}}")
      (column "Allocated" "bytes" "vm_state_state_used_bytes * on (host, state) group_left (slot) vm_state_state_info{${hs}}")
      (column "Snapshots" "none" "vm_state_state_snapshots * on (host, state) group_left (slot) vm_state_state_info{${hs}}")
      (column "Newest snapshot age" "s" "(time() - vm_state_state_newest_snapshot_timestamp_seconds) * on (host, state) group_left (slot) vm_state_state_info{${hs}}")
    ])
    (text "Logs" ''
      What the VM printed (its console) and what systemd did with it: `journalctl -u microvm@$slot` on $host.
      What it asked the egress proxy for, allowed or refused (allowlist slots): `journalctl -t egress_$slot` (a `-` in the name is `_`).
    '')
  ];
}
