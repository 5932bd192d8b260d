/**
 * The `observability` block of one host's `infra.json` (type: lib/observabilityData.ts), from the
 * validated config. Pure. Every host gets its own role and memory limits; the collector also gets
 * the fleet's hosts to scrape and what the alert rules expect of each state (its snapshot and
 * replication schedules), since the other hosts' infra.json files hold their own states only.
 */
import { alertWebhookEnvFile, alertWebhookVariable, ObservabilityData } from "../lib/observabilityData";
import { AutoSnapshots, StackConfig } from "./config";
import { periodMinutes } from "./config/fleet";
import { observabilityMemoryFor, observabilityPortsFor, observabilityServices } from "./config/observability";

/** Minutes between two scheduled snapshots: the shortest period sanoid keeps any of (hourly, daily, weekly, monthly = 31 days). */
export function snapshotPeriodMinutes(s: AutoSnapshots): number | undefined {
    const periods: [number, number][] = [
        [s.hourly, 60],
        [s.daily, 1440],
        [s.weekly, 10080],
        [s.monthly, 44640],
    ];
    return periods.find(([count]) => count > 0)?.[1];
}

/** `alertWebhook`: the stack sets alertWebhookUrl (pushed to the collector as a secret file). */
export function observabilityData(cfg: StackConfig, host: string, alertWebhook: boolean): ObservabilityData {
    const obs = cfg.observability;
    const logs = { retentionDays: obs.logRetentionDays, maxGiB: obs.logDiskGiB };
    if (host !== obs.collector) {
        return {
            host,
            role: "agent",
            memoryMiB: observabilityMemoryFor(obs, host),
            ports: observabilityPortsFor(obs, host),
            logs,
        };
    }
    const backendOf = new Map(cfg.hosts.map((h) => [h.name, h.storage.backend]));
    const ordered = [...cfg.hosts.filter((h) => h.name === host), ...cfg.hosts.filter((h) => h.name !== host)];
    return {
        host,
        role: "collector",
        memoryMiB: observabilityMemoryFor(obs, host),
        ports: observabilityPortsFor(obs, host),
        logs,
        metrics: { retentionDays: obs.metricsRetentionDays, maxGiB: obs.metricsDiskGiB },
        scrape: ordered.map((h) => ({ host: h.name, tailnetName: h.tailscaleHostname })),
        alerts: {
            volumeFullPercent: obs.volumeFullPercent,
            // Scheduled snapshots run on zfs only (sanoid); elsewhere they are ignored, so nothing is expected.
            snapshots: cfg.states.flatMap((s) => {
                const every =
                    s.autoSnapshots && backendOf.get(s.host) === "zfs"
                        ? snapshotPeriodMinutes(s.autoSnapshots)
                        : undefined;
                return every === undefined ? [] : [{ host: s.host, state: s.name, everyMinutes: every }];
            }),
            replicas: cfg.states.flatMap((s) =>
                s.replicate
                    ? [
                          {
                              host: s.host,
                              state: s.name,
                              to: s.replicate.to,
                              everyMinutes: periodMinutes(s.replicate.every) ?? 0,
                          },
                      ]
                    : [],
            ),
            ...(alertWebhook ? { webhook: { envFile: alertWebhookEnvFile, variable: alertWebhookVariable } } : {}),
        },
    };
}

/** The environment file's text for a webhook URL (checked by webhookUrlProblem: nothing in it needs quoting). */
export function alertWebhookEnvText(url: string): string {
    return `${alertWebhookVariable}=${url}\n`;
}

/**
 * The tailnet policy's grants for observability (when the stack manages the policy): admins reach
 * the collector's services, and in a fleet the hosts reach each other's node exporter. None when off.
 */
export function observabilityGrants(cfg: StackConfig): { adminPorts: number[]; hostPorts: number[] } | undefined {
    const obs = cfg.observability;
    if (!obs.enabled) {
        return undefined;
    }
    const node = observabilityServices.nodeExporter.port;
    const collectorPorts = Object.values(observabilityPortsFor(obs, obs.collector)).filter(
        (p): p is number => p !== undefined,
    );
    return { adminPorts: collectorPorts.filter((p) => p !== node), hostPorts: cfg.hosts.length > 1 ? [node] : [] };
}
