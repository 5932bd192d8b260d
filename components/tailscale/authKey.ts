/**
 * The host's auth key: tagged (the host belongs to the tailnet, not to a person), pre-authorized,
 * single use and not ephemeral (an ephemeral subnet router would vanish from the tailnet, with its
 * approved routes, whenever it goes offline). It reaches the host only as a root-only secret file
 * pushed by the deployment, never in EC2 user-data.
 *
 * Lifecycle (docs/tailscale.md, "The auth key"): the host uses the key once, on its first join;
 * from then on tailscaled logs in with the node key kept in /var/lib/tailscale and the key is
 * spent. The provider then reads the key back as invalid; `recreateIfInvalid: "never"` keeps it
 * (with its old value) instead of minting a new one on every later `pulumi up`, which would change
 * the secret file and redeploy for nothing. A new machine (new instance id) gets a new key, through
 * the description, which forces replacement.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import { inheritedDependsOn } from "../deploy/inherit";
import { tagProblem } from "./tags";
import { shown } from "../../lib/redact";

export interface HostAuthKeyArgs {
    /** Tags the host gets when it joins (tailscale.tags). At least one: the key must be tagged. */
    readonly tags: readonly string[];
    /**
     * The id of the machine the key is for (the EC2 instance id). A new machine gets a new key;
     * the same machine keeps its key forever.
     */
    readonly machineId: pulumi.Input<string>;
    /**
     * How long an unused key stays valid, in seconds: the time between `pulumi up` creating it and
     * the host's first join. Defaults to 7 days (604800). From 1 hour to 90 days.
     */
    readonly expirySeconds?: number;
}

export const defaultKeyExpirySeconds = 7 * 24 * 3600;

/** The key's description (at most 50 letters, digits and spaces) naming the machine it is for. */
export function authKeyDescription(machineId: string): string {
    const id = machineId.replace(/[^A-Za-z0-9]/g, "");
    return `microvm host ${id}`.slice(0, 50);
}

/** Why the args are invalid, naming the argument, or undefined. Internal; exported for testing. */
export function authKeyArgsProblem(args: Pick<HostAuthKeyArgs, "tags" | "expirySeconds">): string | undefined {
    if (args.tags.length === 0) {
        return "tags must hold at least one tag such as tag:microvm-host: an untagged key would make the host belong to the person who created the key";
    }
    const bad = args.tags.map(tagProblem).find((p) => p !== undefined);
    if (bad !== undefined) {
        return `tags ${bad}`;
    }
    const expiry = args.expirySeconds ?? defaultKeyExpirySeconds;
    if (!Number.isInteger(expiry) || expiry < 3600 || expiry > 90 * 24 * 3600) {
        return `expirySeconds must be a whole number of seconds from 3600 (1 hour) to 7776000 (90 days), got ${shown(expiry)}`;
    }
    return undefined;
}

export class HostAuthKey extends pulumi.ComponentResource {
    /** The auth key: a secret. */
    readonly key: pulumi.Output<string>;
    /** The key's id in the tailnet (not secret), for `pulumi up --replace` and the admin console. */
    readonly keyId: pulumi.Output<string>;

    constructor(name: string, args: HostAuthKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:tailscale:HostAuthKey", name, {}, opts);
        const problem = authKeyArgsProblem(args);
        if (problem) {
            throw new Error(`HostAuthKey ${name}: ${problem}`);
        }
        const key = new tailscale.TailnetKey(
            `${name}-auth-key`,
            {
                reusable: false,
                ephemeral: false,
                preauthorized: true,
                tags: [...args.tags],
                expiry: args.expirySeconds ?? defaultKeyExpirySeconds,
                description: pulumi.output(args.machineId).apply(authKeyDescription),
                recreateIfInvalid: "never",
            },
            { parent: this, dependsOn: inheritedDependsOn(opts), additionalSecretOutputs: ["key"] },
        );
        this.key = pulumi.secret(key.key);
        this.keyId = key.id;
        this.registerOutputs({ keyId: this.keyId });
    }
}
