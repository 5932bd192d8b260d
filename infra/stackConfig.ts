/**
 * Reads the stack config once, from `pulumi.Config`, into the validated `StackConfig`. The only
 * module that touches config: components take args.
 */
import * as pulumi from "@pulumi/pulumi";
import { tailscaleCredentialProblems } from "../components/tailscale/credentials";
import { ConfigError, configNamespace, parseStackConfig, StackConfig } from "./config";
import { RawObject } from "./configReader";

export interface LoadedConfig {
    readonly cfg: StackConfig;
    /** The SSH private key Pulumi uses to reach the host; undefined means the user's SSH agent. */
    readonly sshPrivateKey?: pulumi.Output<string>;
}

const structuredKeys = ["host", "network", "storage", "tailscale", "slots", "states"];

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** Whether a config key was set with --secret (the SDK's own check; not in its public typings). */
function isConfigSecret(key: string): boolean {
    return (pulumi.runtime as unknown as { isConfigSecret(k: string): boolean }).isConfigSecret(key);
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
    const keys = Object.keys(all);
    const problems: string[] = [];
    let cfg: StackConfig | undefined;
    try {
        cfg = parseStackConfig(raw, keys);
    } catch (err) {
        if (!(err instanceof ConfigError)) {
            throw err;
        }
        problems.push(...err.problems);
    }
    // The Tailscale provider's own keys: never in clear text, one kind of credential.
    if (cfg?.tailscale.enabled ?? true) {
        problems.push(...tailscaleCredentialProblems(keys, isConfigSecret));
    }
    if (!cfg || problems.length > 0) {
        throw new ConfigError(problems);
    }
    const sshPrivateKey = new pulumi.Config(configNamespace).getSecret("sshPrivateKey");
    return { cfg, sshPrivateKey };
}
