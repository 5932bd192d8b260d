# obs (infra.json's `observability` block, checked by ./observability.nix, on the collector, plus
# `textfiles`: [ { unit; file; } ], the files every host's exporters write for the node exporter) ->
# the alert rules, as a Prometheus rule file (JSON, which is YAML). Every metric named here is in
# lib/metrics/{prometheus,node-exporter,microvm-host,vm-state}.json (a test checks it); every rule is
# exercised by `promtool test rules` (tests/bats/observability/config.bats).
#
#   host unreachable       its node exporter does not answer (the collector cannot see it)
#   slot down              microvm@<slot> not active
#   slot restart-looping   systemd restarted microvm@<slot> at least 3 times in 15 minutes
#   nearly full            the state volume, one state's image, or the host's root disk
#   snapshot overdue       per state with scheduled snapshots: none, or the newest older than two periods
#   replication overdue    per replication: none yet, or the last older than three periods
#   switch failed          the deployment's last switch failed (and was rolled back)
#   vm-state               cannot read its root, left a change unfinished, or its last run of a command failed
#   metrics stale          an exporter's file is not refreshed any more
#   metrics missing        an answering host has no file from one of its exporters (its unit fails
#                          before writing): the alerts built on that file could not fire
#
# Builtins only (no nixpkgs).
obs:
let
  inherit (builtins) concatMap toJSON toString;

  full = toString obs.alerts.volumeFullPercent;
  # A selector's label matchers; values are checked names (validate/observability.nix): no quoting needed.
  on = labels: "{${builtins.concatStringsSep "," (map (k: "${k}=${toJSON labels.${k}}") (builtins.attrNames labels))}}";
  minutes = m: "${toString m}m";

  rule = alert: expr: for: severity: summary: description: {
    inherit alert expr for;
    labels.severity = severity;
    annotations = { inherit summary description; };
  };
  # A rule for one state: its labels name the state, so that rules of the same alert differ.
  forState = s: r: r // { labels = r.labels // { inherit (s) host state; }; };

  general = [
    (rule "HostUnreachable" ''up{job="node"} == 0'' "3m" "critical"
      "Host {{ $labels.host }} does not answer"
      "The collector has not reached the node exporter of host {{ $labels.host }} for 3 minutes: the host is down, off the tailnet, or its exporter stopped.")
    (rule "SlotDown" "microvm_slot_up == 0" "5m" "critical"
      "Slot {{ $labels.slot }} on {{ $labels.host }} is down"
      "microvm@{{ $labels.slot }} has not been active for 5 minutes (journalctl -u microvm@{{ $labels.slot }} on {{ $labels.host }}).")
    (rule "SlotRestartLooping" "increase(microvm_slot_restarts_total[15m]) >= 3" "1m" "critical"
      "Slot {{ $labels.slot }} on {{ $labels.host }} is restart-looping"
      "systemd restarted microvm@{{ $labels.slot }} {{ $value | printf \"%.0f\" }} times in 15 minutes: its VM keeps dying (journalctl -u microvm@{{ $labels.slot }} on {{ $labels.host }} shows its console).")
    (rule "StateVolumeNearlyFull" "100 * (1 - vm_state_storage_free_bytes / vm_state_storage_size_bytes) > ${full}" "10m" "warning"
      "The state volume of {{ $labels.host }} is {{ $value | printf \"%.0f\" }}% full"
      "Where the states live on {{ $labels.host }} is more than ${full}% full: delete snapshots or states (vm-state), or grow storage.volumeGiB.")
    (rule "StateNearlyFull" "100 * vm_state_state_used_bytes / vm_state_state_size_bytes > ${full}" "30m" "warning"
      "State {{ $labels.state }} on {{ $labels.host }} is {{ $value | printf \"%.0f\" }}% allocated"
      "The image of state {{ $labels.state }} has more than ${full}% of its size allocated: the guest's disk is filling up (raise the slot's diskGiB for new states, or clean up inside the VM).")
    (rule "HostDiskNearlyFull" ''100 * (1 - node_filesystem_avail_bytes{mountpoint="/"} / node_filesystem_size_bytes{mountpoint="/"}) > ${full}'' "10m" "warning"
      "The root disk of {{ $labels.host }} is {{ $value | printf \"%.0f\" }}% full"
      "The root volume of {{ $labels.host }} (the Nix store, the journal, Prometheus' data) is more than ${full}% full: collect garbage (nix-collect-garbage) or grow host.rootVolumeGiB.")
    (rule "SwitchFailed" "microvm_deploy_last_switch_success == 0" "0m" "critical"
      "The last deployment to {{ $labels.host }} failed"
      "The switch to bundle {{ $labels.bundle }} failed (nixos-rebuild switch or the health check) and the host kept or rolled back to its previous system: see /var/lib/microvm-infra/switches/<hash>/log on {{ $labels.host }}, then run pulumi up again.")
    (rule "VmStateDown" "vm_state_up == 0" "5m" "warning"
      "vm-state cannot read its states on {{ $labels.host }}"
      "vm-state metrics could not read infra.json or its root on {{ $labels.host }} for 5 minutes.")
    (rule "VmStateChangeUnfinished" "vm_state_journal_pending == 1" "30m" "warning"
      "vm-state left a change unfinished on {{ $labels.host }}"
      "vm-state's journal has recorded an unfinished change for 30 minutes; the next vm-state command finishes it (vm-state status on {{ $labels.host }}).")
    (rule "VmStateCommandFailed" "vm_state_last_operation_success == 0" "0m" "warning"
      "vm-state {{ $labels.command }} failed on {{ $labels.host }}"
      "The last run of vm-state {{ $labels.command }} on {{ $labels.host }} exited with an error; its log is in the journal of whatever ran it.")
    (rule "MetricsStale" "time() - node_textfile_mtime_seconds > 300" "5m" "warning"
      "{{ $labels.file }} on {{ $labels.host }} is not refreshed"
      "The metrics file {{ $labels.file }} has not changed for 5 minutes: its timer stopped (systemctl list-timers 'microvm-*-metrics*' on {{ $labels.host }}).")
  ];

  # One rule per file, named in its labels: up on a host, without that file there.
  missing = map (t:
    let r = rule "MetricsMissing" ''up{job="node"} == 1 unless on (host) node_textfile_mtime_seconds{file=${toJSON t.file}}'' "10m" "warning"
      "${baseNameOf t.file} is missing on {{ $labels.host }}"
      "Host {{ $labels.host }} answers, but has had no ${t.file} for 10 minutes: ${t.unit} fails before writing it (journalctl -u ${t.unit} on {{ $labels.host }}), and no alert built on its metrics can fire until it does.";
    in r // { labels = r.labels // { inherit (t) file; }; }) obs.textfiles;

  snapshots = concatMap (s:
    let
      at = on { inherit (s) host state; };
      period = s.everyMinutes;
    in
    map (forState s) [
      (rule "SnapshotOverdue" "time() - vm_state_state_newest_snapshot_timestamp_seconds${at} > ${toString (2 * period * 60)}" "10m" "warning"
        "State ${s.state} on ${s.host} has no recent snapshot"
        "State ${s.state} is scheduled for a snapshot every ${minutes period}, and its newest snapshot is older than ${minutes (2 * period)}: is sanoid running on ${s.host} (systemctl status sanoid)?")
      (rule "SnapshotMissing" "vm_state_state_info${at} unless on (host, state) vm_state_state_newest_snapshot_timestamp_seconds" (minutes (2 * period)) "warning"
        "State ${s.state} on ${s.host} has never been snapshotted"
        "State ${s.state} is scheduled for a snapshot every ${minutes period}, and has had none for ${minutes (2 * period)}.")
    ]) obs.alerts.snapshots;

  replicas = concatMap (r:
    let
      at = on { inherit (r) host state to; };
      period = r.everyMinutes;
    in
    map (forState r) [
      (rule "ReplicationOverdue" "time() - vm_state_replica_last_success_timestamp_seconds${at} > ${toString (3 * period * 60)}" "5m" "warning"
        "State ${r.state} has not replicated from ${r.host} to ${r.to} lately"
        "State ${r.state} replicates to ${r.to} every ${minutes period}, and the last replication finished more than ${minutes (3 * period)} ago (journalctl -u microvm-replicate-${r.state} on ${r.host}).")
      (rule "ReplicationMissing" "vm_state_state_info${on { inherit (r) host state; }} unless on (host, state) vm_state_replica_last_success_timestamp_seconds${on { inherit (r) to; }}" (minutes (3 * period)) "warning"
        "State ${r.state} has never replicated from ${r.host} to ${r.to}"
        "State ${r.state} replicates to ${r.to} every ${minutes period}, and no replication has finished for ${minutes (3 * period)} (journalctl -u microvm-replicate-${r.state} on ${r.host}).")
    ]) obs.alerts.replicas;
in
{
  groups =
    [ { name = "microvm-infra"; rules = general ++ missing; } ]
    ++ (if snapshots ++ replicas == [ ] then [ ] else [ { name = "microvm-infra-schedules"; rules = snapshots ++ replicas; } ]);
}
