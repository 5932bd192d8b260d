/**
 * `observability`: metrics, logs, alerts and dashboards, off by default (docs/observability.md).
 * When on, every host runs the node exporter, the slots' and deployment's exporter and vm-state's
 * metrics, and keeps its journal for `logRetentionDays`; one host, the collector, also runs
 * Prometheus, Alertmanager and Grafana and scrapes every host over the tailnet. What each of those
 * may use (memory, disk) is defined here, once: the capacity checks count it, `infra.json` carries
 * it, and the host's units are limited to it.
 *
 * The alerts' webhook is a separate, secret key (`alertWebhookUrl`), so that this one stays readable
 * in plans and reviews (a secret leaf makes Pulumi treat its whole top-level key as secret).
 */
import { FleetHost, primaryHost } from "./fleet";
import { Problems, readBool, readInt, readObject, readString } from "./reader";
import { TailscaleConfig } from "./tailscale";

export interface ObservabilityConfig {
    readonly enabled: boolean;
    /** The host that runs Prometheus, Alertmanager and Grafana and scrapes every host. */
    readonly collector: string;
    /** How long Prometheus keeps samples, and the most disk it may use for them (on the collector). */
    readonly metricsRetentionDays: number;
    readonly metricsDiskGiB: number;
    /** How long each host's journal keeps logs, and the most disk it may use. */
    readonly logRetentionDays: number;
    readonly logDiskGiB: number;
    /** The state volume, or one state's image, is "nearly full" above this share of its size. */
    readonly volumeFullPercent: number;
}

export const observabilityDefaults = {
    enabled: false,
    metricsRetentionDays: 15,
    metricsDiskGiB: 8,
    logRetentionDays: 14,
    logDiskGiB: 4,
    volumeFullPercent: 85,
} as const;

export const observabilityKeys = [
    "enabled",
    "collector",
    "metricsRetentionDays",
    "metricsDiskGiB",
    "logRetentionDays",
    "logDiskGiB",
    "volumeFullPercent",
] as const;

/**
 * What observability runs, once: where (only on the collector, or on every host), the TCP port it
 * answers on (only the tailnet and the host itself may reach it: nixos/lib/observability.nix's
 * table), and the most memory (MiB) it may use. The units get the memory as `MemoryMax=` (from
 * infra.json), the capacity check counts it against the slots, and the plan shows all of it.
 * Sized for a fleet of a few hosts with up to a few hundred slots (some tens of thousands of
 * series); `MemoryMax=` makes them a ceiling, not a guess.
 */
export const observabilityServices = {
    prometheus: {
        collectorOnly: true,
        port: 9090,
        memoryMiB: 1024,
        what: "Prometheus: every host's metrics, the alert rules",
    },
    alertmanager: {
        collectorOnly: true,
        port: 9093,
        memoryMiB: 128,
        what: "Alertmanager: alerts, delivered to the webhook or only shown",
    },
    grafana: {
        collectorOnly: true,
        port: 3000,
        memoryMiB: 512,
        what: "Grafana: the dashboards, for anonymous viewers",
    },
    nodeExporter: {
        collectorOnly: false,
        port: 9100,
        memoryMiB: 128,
        what: "node exporter: the host's metrics and the exporters' files",
    },
    exporters: {
        collectorOnly: false,
        port: undefined,
        memoryMiB: 128,
        what: "timers writing the slots', the deployment's and vm-state's metrics",
    },
} as const;

export type ObservabilityService = keyof typeof observabilityServices;

/**
 * Disk on the root volume that NixOS itself needs (system generations, the Nix store, the slots'
 * runners and guest images) before observability's own share: an estimate, the same for every
 * host, so that metrics and logs can never be configured to fill the root disk.
 */
export const rootSystemReserveGiB = 20;

/** The services a host runs (none when observability is off), in the table's order. */
export function observabilityServicesFor(obs: ObservabilityConfig, host: string): ObservabilityService[] {
    if (!obs.enabled) {
        return [];
    }
    return (Object.keys(observabilityServices) as ObservabilityService[]).filter(
        (s) => host === obs.collector || !observabilityServices[s].collectorOnly,
    );
}

/** The services a host runs and their memory limits: none when observability is off. */
export function observabilityMemoryFor(
    obs: ObservabilityConfig,
    host: string,
): Partial<Record<ObservabilityService, number>> {
    return Object.fromEntries(observabilityServicesFor(obs, host).map((s) => [s, observabilityServices[s].memoryMiB]));
}

/** The ports a host opens to the tailnet for observability, by service: none when off. */
export function observabilityPortsFor(
    obs: ObservabilityConfig,
    host: string,
): Partial<Record<ObservabilityService, number>> {
    return Object.fromEntries(
        observabilityServicesFor(obs, host).flatMap((s) => {
            const port: number | undefined = observabilityServices[s].port;
            return port === undefined ? [] : [[s, port]];
        }),
    );
}

/** MiB a host keeps for observability (0 when off): what the capacity check adds to the host's share. */
export function observabilityReserveMiB(obs: ObservabilityConfig, host: string): number {
    return Object.values(observabilityMemoryFor(obs, host)).reduce((sum, n) => sum + (n ?? 0), 0);
}

/** GiB of the root volume a host gives to observability (0 when off): its journal, and on the collector Prometheus' data. */
export function observabilityDiskGiB(obs: ObservabilityConfig, host: string): number {
    if (!obs.enabled) {
        return 0;
    }
    return obs.logDiskGiB + (host === obs.collector ? obs.metricsDiskGiB : 0);
}

const path = "observability";

export function parseObservability(
    p: Problems,
    raw: unknown,
    hosts: readonly FleetHost[],
    tailscale: TailscaleConfig,
): ObservabilityConfig {
    const o = readObject(p, path, raw, observabilityKeys);
    const d = observabilityDefaults;
    const enabled = readBool(p, o, path, "enabled", d.enabled);
    const names = hosts.map((h) => h.name);
    const collector = readString(
        p,
        o,
        path,
        "collector",
        names.includes(primaryHost) ? primaryHost : (names[0] ?? primaryHost),
    );
    if (o.collector !== undefined && names.length > 0 && !names.includes(collector)) {
        p.add(
            `${path}.collector`,
            `names host "${collector}", which is not in hosts (${names.join(", ")}); the collector is the host that runs Prometheus, Alertmanager and Grafana`,
        );
    }
    const obs: ObservabilityConfig = {
        enabled,
        collector,
        metricsRetentionDays: readInt(p, o, path, "metricsRetentionDays", 1, 3650, d.metricsRetentionDays),
        metricsDiskGiB: readInt(p, o, path, "metricsDiskGiB", 1, 1024, d.metricsDiskGiB),
        logRetentionDays: readInt(p, o, path, "logRetentionDays", 1, 3650, d.logRetentionDays),
        logDiskGiB: readInt(p, o, path, "logDiskGiB", 1, 1024, d.logDiskGiB),
        volumeFullPercent: readInt(p, o, path, "volumeFullPercent", 50, 99, d.volumeFullPercent),
    };
    if (enabled && !tailscale.enabled) {
        p.add(
            `${path}.enabled`,
            "is true but tailscale.enabled is false: Grafana, Prometheus and Alertmanager are reachable only on the tailnet (never from the internet), so enable Tailscale or turn observability off",
        );
    }
    return obs;
}

/**
 * Whether each host's root volume holds what observability keeps there (its journal; on the
 * collector, Prometheus' data) beside NixOS itself. Nothing is checked when observability is off.
 */
export function checkObservabilityDisk(p: Problems, obs: ObservabilityConfig, hosts: readonly FleetHost[]): void {
    for (const host of hosts) {
        const needed = observabilityDiskGiB(obs, host.name);
        if (needed > 0 && needed + rootSystemReserveGiB > host.rootVolumeGiB) {
            const key = hosts.length > 1 ? `hosts.${host.name}.rootVolumeGiB` : "host.rootVolumeGiB";
            const what =
                host.name === obs.collector
                    ? "observability.logDiskGiB + observability.metricsDiskGiB"
                    : "observability.logDiskGiB";
            p.add(
                key,
                `${host.rootVolumeGiB} GiB cannot hold observability's ${needed} GiB (${what}) beside the ${rootSystemReserveGiB} GiB NixOS keeps for itself; grow ${key} to at least ${needed + rootSystemReserveGiB}, or lower ${what.replace(" + ", " or ")}`,
            );
        }
    }
}

/** The top-level key holding the alerts' webhook URL: a Pulumi secret, read by infra/stackConfig.ts. */
export const alertWebhookUrlKey = "alertWebhookUrl";

/**
 * What the offline plan (tools/plan) holds in place of a secret's value, which it never decrypts:
 * the URL's shape can only be checked where the engine gives the real value (`pulumi preview`,
 * `pulumi up`). A test keeps it equal to tools/plan/stackFile.ts' placeholder. A whole key's
 * secret reads as "[secret <12 hex digits of its ciphertext's digest>]" there (so a new secret is a
 * change); `isWithheldSecret` knows both forms.
 */
export const withheldSecret = "[secret]";

/** Whether `value` is the offline plan's stand-in for a secret (never a real URL). */
export function isWithheldSecret(value: string): boolean {
    return value === withheldSecret || /^\[secret [0-9a-f]{12}\]$/.test(value);
}

/**
 * A webhook URL's shape: http(s), a host, and only characters that need no quoting where the URL
 * goes (a systemd environment file, then substituted into Alertmanager's JSON configuration): no
 * spaces, quotes, backslashes or `$`. The message never repeats the value (it is a secret).
 */
export function webhookUrlProblem(url: string): string | undefined {
    const safe = "\\-A-Za-z0-9._~!&()*+,;=%";
    const shape = new RegExp(
        `^https?://([${safe}]+(:[${safe}]*)?@)?[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][${safe}:/?#@\\[\\]]*)?$`,
    );
    if (shape.test(url)) {
        return undefined;
    }
    return `${alertWebhookUrlKey}: must be an http:// or https:// URL with a host name, and no spaces, quotes, backslashes or '$' (the value is a secret and is not shown); set it again with \`pulumi config set --secret ${alertWebhookUrlKey} https://...\``;
}

/**
 * Problems with `alertWebhookUrl`, given every config key, which are secret, and its value as the
 * engine gives it: it must be a secret (a clear-text URL would be committed with the stack file),
 * and a URL. The plan tool cannot read a secret's value (`withheldSecret`): then only its being a
 * secret is checked.
 */
export function alertWebhookProblems(
    keys: readonly string[],
    isSecret: (key: string) => boolean,
    fullKey: string,
    value: string | undefined,
): string[] {
    if (!keys.includes(fullKey)) {
        return [];
    }
    if (!isSecret(fullKey)) {
        return [
            `${alertWebhookUrlKey}: is stored in clear text in the stack file; remove it (pulumi config rm ${alertWebhookUrlKey}) and set it again with \`pulumi config set --secret ${alertWebhookUrlKey} https://...\``,
        ];
    }
    if (value === undefined || isWithheldSecret(value)) {
        return [];
    }
    const problem = webhookUrlProblem(value);
    return problem ? [problem] : [];
}
