/**
 * Reads the stack config once, from the engine's config, into the validated `StackConfig`. The
 * only module that touches config: components take args.
 */
import * as pulumi from "@pulumi/pulumi";
import { tailscaleCredentialProblems } from "../components/tailscale/credentials";
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
 * Problems with the secrets in config, whatever else it says: every credential must be a Pulumi
 * secret (a clear-text value would be committed with the stack file), even where it is unused.
 */
export function secretConfigProblems(keys: readonly string[], isSecret: (key: string) => boolean): string[] {
    const problems = tailscaleCredentialProblems(keys, isSecret);
    if (keys.includes(sshPrivateKeyKey) && !isSecret(sshPrivateKeyKey)) {
        problems.push("sshPrivateKey: is stored in clear text in the stack file; remove it (pulumi config rm sshPrivateKey) and set it again with `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`");
    }
    return problems;
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
    problems.push(...secretConfigProblems(Object.keys(all), isConfigSecret));
    problems.push(...alertWebhookProblems(Object.keys(all), isConfigSecret, alertWebhookUrlFullKey, all[alertWebhookUrlFullKey]));
    if (!cfg || problems.length > 0) {
        throw new ConfigError(problems);
    }
    const config = new pulumi.Config(configNamespace);
    const sshPrivateKey = config.getSecret("sshPrivateKey");
    const alertWebhookUrl = cfg.observability.enabled ? config.getSecret(alertWebhookUrlKey) : undefined;
    return { cfg, sshPrivateKey, alertWebhookUrl };
}
