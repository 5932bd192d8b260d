/**
 * The `observability` block of `infra.json` (docs/deployment-data.md, docs/observability.md): what
 * one host runs for metrics, logs and alerts. Present only when the stack turns observability on,
 * so a stack without it renders the same file as before it existed.
 */

/** Where the deployment installs the alerts' webhook (root-only, never in the Nix store): a systemd environment file. */
export const alertWebhookEnvFile = "/var/lib/microvm-infra/secrets/alertmanager-webhook.env";
/** The variable that file sets; Alertmanager's configuration names it and NixOS substitutes it at start (envsubst). */
export const alertWebhookVariable = "MICROVM_ALERT_WEBHOOK_URL";

export interface ObservabilityData {
    /** This host's name in the stack (`main` on a one-host stack). */
    readonly host: string;
    /** `collector`: this host runs Prometheus, Alertmanager and Grafana and scrapes every host; `agent`: it is scraped. */
    readonly role: "collector" | "agent";
    /** The services this host runs and the most memory (MiB) each may use (systemd's MemoryMax=). */
    readonly memoryMiB: Readonly<Record<string, number>>;
    /** The TCP port of each service this host runs that listens: open to the tailnet (and the host itself) only. */
    readonly ports: Readonly<Record<string, number>>;
    /** The journal: how long it keeps logs and the most disk it may use. */
    readonly logs: { readonly retentionDays: number; readonly maxGiB: number };
    /** Collector only: Prometheus' retention. */
    readonly metrics?: { readonly retentionDays: number; readonly maxGiB: number };
    /** Collector only: every host it scrapes (this one first) and its name on the tailnet. */
    readonly scrape?: readonly { readonly host: string; readonly tailnetName: string }[];
    /** Collector only: what the alert rules expect. */
    readonly alerts?: {
        readonly volumeFullPercent: number;
        /** States with scheduled snapshots: the newest must be younger than twice the shortest period. */
        readonly snapshots: readonly { readonly host: string; readonly state: string; readonly everyMinutes: number }[];
        /** Replications: the last must have finished within three periods. */
        readonly replicas: readonly {
            readonly host: string;
            readonly state: string;
            readonly to: string;
            readonly everyMinutes: number;
        }[];
        /** Only when the stack sets alertWebhookUrl: the environment file that holds it, and its variable. */
        readonly webhook?: { readonly envFile: string; readonly variable: string };
    };
}
