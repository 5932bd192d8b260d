/**
 * The one place SSH connections to the host are built: root, the host key pinned, retries long
 * enough for a metal host's first boot. Every remote command (deployment, states, slots,
 * Tailscale status) uses the connection this returns.
 */
import * as pulumi from "@pulumi/pulumi";
import { types } from "@pulumi/command";

export type Connection = pulumi.Input<types.input.remote.ConnectionArgs>;

export interface HostConnectionArgs {
    /** Address or name Pulumi dials: the Elastic IP, or the host's tailnet name. */
    readonly address: pulumi.Input<string>;
    /** The host's SSH public key; connections refuse any other. */
    readonly hostPublicKey: pulumi.Input<string>;
    /** Secret private key; undefined means the user's SSH agent (`SSH_AUTH_SOCK`). */
    readonly privateKey?: pulumi.Input<string>;
    /** Defaults to 22. */
    readonly port?: number;
}

/**
 * How long the first connection keeps trying: a fresh `.metal` instance takes 5 to 15 minutes
 * from "running" to sshd answering (a1.metal at the slow end), so 20 minutes leaves a margin.
 */
export const firstBootWaitSeconds = 20 * 60;
/** Seconds one dial may take before it counts as failed. */
export const perDialTimeoutSeconds = 20;
/** The provider waits at most 5 s between dials (Pulumi's retry: 100 ms growing 1.5x, capped at 5 s). */
const maxRetryDelaySeconds = 5;

/**
 * Dial attempts that cover `waitSeconds` even when every dial fails at once (connection
 * refused): each failure then costs about the capped retry delay. When dials time out instead,
 * each costs `perDialTimeoutSeconds` more, so giving up takes longer, never shorter.
 */
export function dialErrorLimit(waitSeconds: number = firstBootWaitSeconds): number {
    return Math.ceil(waitSeconds / maxRetryDelaySeconds);
}

export const noCredentialsMessage = "Pulumi has no SSH credentials for the host: set the private key as a secret "
    + "(pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519) or start an SSH agent holding the key "
    + "(eval \"$(ssh-agent)\"; ssh-add), so that SSH_AUTH_SOCK is set when you run pulumi up.";

/**
 * Why no connection can be made, or undefined. A preview never connects, so it only needs
 * credentials when it is not a dry run. Internal; exported for testing.
 */
export function credentialsProblem(hasPrivateKey: boolean, agentSocket: string | undefined, dryRun: boolean): string | undefined {
    if (hasPrivateKey || (agentSocket !== undefined && agentSocket !== "") || dryRun) {
        return undefined;
    }
    return noCredentialsMessage;
}

export function hostConnection(args: HostConnectionArgs): Connection {
    const problem = credentialsProblem(args.privateKey !== undefined, process.env.SSH_AUTH_SOCK, pulumi.runtime.isDryRun());
    if (problem) {
        throw new pulumi.RunError(problem);
    }
    // No agentSocketPath here: the provider reads SSH_AUTH_SOCK itself, and a socket path (which
    // changes with every login) in the inputs would make every remote command "changed".
    return {
        host: args.address,
        port: args.port ?? 22,
        user: "root",
        hostKey: args.hostPublicKey,
        ...(args.privateKey !== undefined ? { privateKey: pulumi.secret(args.privateKey) } : {}),
        dialErrorLimit: dialErrorLimit(),
        perDialTimeout: perDialTimeoutSeconds,
    };
}
