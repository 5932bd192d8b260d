/**
 * Reads the stack config once, from the engine's config, into the validated `StackConfig`. The
 * only module that touches config: components take args.
 */
import * as pulumi from "@pulumi/pulumi";
import { tailscaleCredentialProblems, tailscaleSecretKeys } from "../components/tailscale/credentials";
import { secretKind, shown } from "../lib/redact";
import { ConfigError, configNamespace, parseStackConfig, RawObject, StackConfig, structuredKeys } from "./config";
import { alertWebhookProblems, alertWebhookUrlKey } from "./config/observability";

export interface LoadedConfig {
    readonly cfg: StackConfig;
    /** The SSH private key Pulumi uses to reach the host; undefined means the user's SSH agent. */
    readonly sshPrivateKey?: pulumi.Output<string>;
    /** Where alerts are delivered (`alertWebhookUrl`); undefined: alerts are only shown. Only when observability is on. */
    readonly alertWebhookUrl?: pulumi.Output<string>;
}

export const sshPrivateKeyKey = `${configNamespace}:sshPrivateKey`;
export const alertWebhookUrlFullKey = `${configNamespace}:${alertWebhookUrlKey}`;

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** Whether a config key was set with --secret (the SDK's own check; not in its public typings). */
export function isConfigSecret(key: string): boolean {
    return (pulumi.runtime as unknown as { isConfigSecret(k: string): boolean }).isConfigSecret(key);
}

/**
 * The AWS provider's credential keys (`@pulumi/aws` config: accessKey, secretKey, token, and the
 * web identity token of assumeRoleWithWebIdentity): like Tailscale's, never in clear text.
 */
export const awsSecretKeys = ["aws:accessKey", "aws:secretKey", "aws:token"] as const;

/**
 * Problems with the secrets in config, whatever else it says: every credential must be a Pulumi
 * secret (a clear-text value would be committed with the stack file), even where it is unused, and
 * no other key outside the project's namespace (those are checked key by key, `parseStackConfig`)
 * may hold a value that looks like a secret (lib/redact.ts). `valueOf` gives a key's clear text.
 */
export function secretConfigProblems(
    keys: readonly string[],
    isSecret: (key: string) => boolean,
    valueOf: (key: string) => string | undefined = () => undefined,
): string[] {
    const problems = tailscaleCredentialProblems(keys, isSecret);
    if (keys.includes(sshPrivateKeyKey) && !isSecret(sshPrivateKeyKey)) {
        problems.push(
            "sshPrivateKey: is stored in clear text in the stack file; remove it (pulumi config rm sshPrivateKey) and set it again with `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`",
        );
    }
    const credentials: readonly string[] = [...tailscaleSecretKeys, ...awsSecretKeys, sshPrivateKeyKey];
    for (const key of keys.filter((k) => !isSecret(k))) {
        const value = valueOf(key) ?? "";
        if (
            (awsSecretKeys as readonly string[]).includes(key) ||
            (key === "aws:assumeRoleWithWebIdentity" && /webIdentityToken"\s*:\s*"[^"]/.test(value))
        ) {
            problems.push(
                `${key}: is stored in clear text in the stack file; set it again with \`pulumi config set --secret ${key} ...\` (or leave AWS credentials to the environment: AWS_PROFILE, SSO)`,
            );
        } else if (!credentials.includes(key) && !key.startsWith(`${configNamespace}:`)) {
            const kind = secretKind(value);
            if (kind !== undefined) {
                problems.push(
                    `${key}: holds what looks like ${kind} (not shown), in clear text in the stack file; a secret is set with \`pulumi config set --secret ${key} ...\`, and only in a key meant for it`,
                );
            }
        }
    }
    return problems;
}

/**
 * A configured availability zone must be one of the stack's region (`aws:region`): a zone's name is
 * its region's and a letter (us-east-1a). Unchecked when the region comes from the environment.
 */
export function zoneRegionProblems(cfg: StackConfig, region: string | undefined): string[] {
    if (region === undefined) {
        return [];
    }
    const fleet = cfg.hosts.length > 1 || cfg.hosts.some((h) => h.name !== "main");
    const zones = fleet
        ? cfg.hosts.map((h) => [`hosts.${h.name}.availabilityZone`, h.availabilityZone] as const)
        : [["host.availabilityZone", cfg.host.availabilityZone] as const];
    return zones
        .filter(
            ([, zone]) => zone !== undefined && !new RegExp(`^${region.replace(/[^a-z0-9-]/g, "")}[a-z]$`).test(zone),
        )
        .map(
            ([key, zone]) =>
                `${key}: ${shown(zone)} is not a zone of aws:region ${region}; use one of its zones (${region}a, ${region}b, ...), or unset it to take the first that offers the instance type`,
        );
}

export function loadStackConfig(): LoadedConfig {
    const all = pulumi.runtime.allConfig();
    const raw: RawObject = {};
    for (const key of structuredKeys) {
        const text = all[`${configNamespace}:${key}`];
        if (text !== undefined) {
            raw[key] = parseValue(text);
        }
    }
    const problems: string[] = [];
    let cfg: StackConfig | undefined;
    try {
        cfg = parseStackConfig(raw, Object.keys(all));
    } catch (err) {
        if (!(err instanceof ConfigError)) {
            throw err;
        }
        problems.push(...err.problems);
    }
    problems.push(...secretConfigProblems(Object.keys(all), isConfigSecret, (key) => all[key]));
    problems.push(
        ...alertWebhookProblems(Object.keys(all), isConfigSecret, alertWebhookUrlFullKey, all[alertWebhookUrlFullKey]),
    );
    if (cfg) {
        problems.push(...zoneRegionProblems(cfg, all["aws:region"]));
    }
    if (!cfg || problems.length > 0) {
        throw new ConfigError(problems);
    }
    const config = new pulumi.Config(configNamespace);
    const sshPrivateKey = config.getSecret("sshPrivateKey");
    const alertWebhookUrl = cfg.observability.enabled ? config.getSecret(alertWebhookUrlKey) : undefined;
    return { cfg, sshPrivateKey, alertWebhookUrl };
}
