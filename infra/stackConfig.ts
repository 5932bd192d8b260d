/**
 * Reads the stack config once, from `pulumi.Config`, into the validated `StackConfig`. The only
 * module that touches config: components take args.
 */
import * as pulumi from "@pulumi/pulumi";
import { configNamespace, parseStackConfig, StackConfig } from "./config";
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

export function loadStackConfig(): LoadedConfig {
    const all = pulumi.runtime.allConfig();
    const raw: RawObject = {};
    for (const key of structuredKeys) {
        const text = all[`${configNamespace}:${key}`];
        if (text !== undefined) {
            raw[key] = parseValue(text);
        }
    }
    const cfg = parseStackConfig(raw, Object.keys(all));
    const sshPrivateKey = new pulumi.Config(configNamespace).getSecret("sshPrivateKey");
    return { cfg, sshPrivateKey };
}
