/**
 * What observability adds to a stack, for people: per host, the services it runs, the ports it
 * opens to the tailnet, the memory the capacity check counts and the root disk it keeps for
 * metrics and logs; and, between two configs, what turning it on, off or changing it adds or
 * removes, with the ports as security changes. From the validated config and the one table of
 * services (infra/config/observability.ts). `npm run plan` prints `observabilityPlanLines`; the
 * pull-request review (review.ts, markdown.ts) prints `observabilityReview`.
 */
import { StackConfig } from "../../infra/config";
import {
    alertWebhookUrlKey,
    observabilityDiskGiB,
    observabilityPortsFor,
    observabilityReserveMiB,
    observabilityServicesFor,
} from "../../infra/config/observability";

export interface ObservabilityHost {
    readonly host: string;
    readonly role: "collector" | "agent";
    /** `Name :port` (or the name alone), in the table's order. */
    readonly services: readonly string[];
    /** Port to what answers there, for the security section. */
    readonly ports: Readonly<Record<number, string>>;
    readonly memoryMiB: number;
    readonly diskGiB: number;
}

const label: Record<string, string> = {
    prometheus: "Prometheus",
    alertmanager: "Alertmanager",
    grafana: "Grafana",
    nodeExporter: "node exporter",
    exporters: "metric timers",
};

/** Each host's share, the collector first; none when observability is off. */
export function observabilityHosts(cfg: StackConfig): ObservabilityHost[] {
    const obs = cfg.observability;
    if (!obs.enabled) {
        return [];
    }
    const names = cfg.hosts
        .map((h) => h.name)
        .sort((a, b) => (a === obs.collector ? -1 : b === obs.collector ? 1 : a.localeCompare(b)));
    return names.map((host) => {
        const ports = observabilityPortsFor(obs, host);
        return {
            host,
            role: host === obs.collector ? "collector" : "agent",
            services: observabilityServicesFor(obs, host).map((s) =>
                ports[s] === undefined ? label[s] : `${label[s]} :${ports[s]}`,
            ),
            ports: Object.fromEntries(Object.entries(ports).map(([s, p]) => [p, label[s]])),
            memoryMiB: observabilityReserveMiB(obs, host),
            diskGiB: observabilityDiskGiB(obs, host),
        };
    });
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function hostLine(h: ObservabilityHost): string {
    return `${h.host} (${h.role}): ${h.services.join(", ")}; ${h.memoryMiB} MiB of memory, ${h.diskGiB} GiB of the root disk`;
}

/** Where alerts go, from the stack file's keys (the webhook's value is a secret and never read here). */
function alertsGo(configKeys: readonly string[]): string {
    return configKeys.some((k) => k.endsWith(`:${alertWebhookUrlKey}`))
        ? "alerts are delivered to the webhook (alertWebhookUrl) and shown in Alertmanager and Grafana"
        : "alerts are only shown, in Alertmanager and Grafana (no alertWebhookUrl)";
}

/** The lines of `npm run plan` (text). */
export function observabilityPlanLines(cfg: StackConfig, configKeys: readonly string[]): string[] {
    const hosts = observabilityHosts(cfg);
    if (hosts.length === 0) {
        return ["Observability: off (observability.enabled)"];
    }
    const obs = cfg.observability;
    return [
        `Observability: on, reachable on the tailnet only; ${alertsGo(configKeys)}`,
        ...hosts.map((h) => `  ${hostLine(h)}`),
        `  metrics kept ${obs.metricsRetentionDays} days (at most ${obs.metricsDiskGiB} GiB); logs ${obs.logRetentionDays} days (at most ${obs.logDiskGiB} GiB per host)`,
    ];
}

export interface ObservabilityReview {
    /** What changes, for the review's own section; empty when nothing does. */
    readonly lines: string[];
    /** Ports opened or closed on the tailnet, for the security section. */
    readonly security: string[];
}

function portsOf(hosts: readonly ObservabilityHost[]): Map<string, string> {
    return new Map(
        hosts.flatMap((h) =>
            Object.entries(h.ports).map(
                ([port, what]) => [`${h.host}:${port}`, `TCP ${port} (${what}) on ${h.host}`] as [string, string],
            ),
        ),
    );
}

/** What applying `next` to a stack deployed from `old` does to observability. */
export function observabilityReview(
    old: StackConfig,
    next: StackConfig,
    oldKeys: readonly string[],
    nextKeys: readonly string[],
): ObservabilityReview {
    const before = observabilityHosts(old);
    const after = observabilityHosts(next);
    const lines: string[] = [];
    if (before.length === 0 && after.length > 0) {
        lines.push("Turned on. Each host runs:", ...after.map(hostLine), `${capital(alertsGo(nextKeys))}.`);
    } else if (before.length > 0 && after.length === 0) {
        lines.push(
            `Turned off: ${before.map((h) => `${h.host} stops ${h.services.join(", ")} and frees ${h.memoryMiB} MiB`).join("; ")}. Prometheus' data and the journal stay on the root disk until removed by hand.`,
        );
    } else if (after.length > 0) {
        const was = new Map(before.map((h) => [h.host, hostLine(h)]));
        lines.push(
            ...after
                .filter((h) => was.get(h.host) !== hostLine(h))
                .map((h) =>
                    was.has(h.host) ? `${hostLine(h)} (was: ${was.get(h.host)!.replace(/^[^:]*: /, "")})` : hostLine(h),
                ),
        );
        if (alertsGo(oldKeys) !== alertsGo(nextKeys)) {
            lines.push(`From now on, ${alertsGo(nextKeys)}.`);
        }
    }
    const a = portsOf(before);
    const b = portsOf(after);
    const security = [
        ...[...b].filter(([k]) => !a.has(k)).map(([, v]) => `tailnet: opens ${v}`),
        ...[...a].filter(([k]) => !b.has(k)).map(([, v]) => `tailnet: closes ${v}`),
    ];
    return { lines, security };
}
