/**
 * The one place SSH connections to the host are built: root, the host key pinned, a minute of
 * retries for a dial that fails (sshd restarting during a switch). The wait for a metal host's
 * first boot is `HostReachable`'s, which every remote command waits for: the provider retries an
 * authentication or host-key failure like any dial error, so long retries here would hide a wrong
 * key for the whole boot window. Every remote command (deployment, states, slots, Tailscale
 * status) uses the connection this returns.
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
 * How long `HostReachable` waits for a new host: a fresh `.metal` instance takes 5 to 15 minutes
 * from "running" to sshd answering (a1.metal at the slow end), so 20 minutes leaves a margin.
 */
export const firstBootWaitSeconds = 20 * 60;
/** How long a remote command keeps dialling a host that was reachable: sshd restarting. */
export const redialSeconds = 60;
/** Seconds one dial may take before it counts as failed. */
export const perDialTimeoutSeconds = 20;
/** The provider waits at most 5 s between dials (Pulumi's retry: 100 ms growing 1.5x, capped at 5 s). */
const maxRetryDelaySeconds = 5;

/**
 * Dial attempts that cover `waitSeconds` even when every dial fails at once (connection
 * refused): the provider waits 100 ms before the second dial, 1.5 times longer before each next
 * one, at most 5 s. When dials time out instead, each costs `perDialTimeoutSeconds` more, so
 * giving up takes longer, never shorter.
 */
export function dialErrorLimit(waitSeconds: number = redialSeconds): number {
    let delay = 0.1;
    let waited = 0;
    let dials = 0;
    while (waited < waitSeconds) {
        waited += Math.min(delay, maxRetryDelaySeconds);
        delay *= 1.5;
        dials++;
    }
    return dials;
}

export const noCredentialsMessage =
    "Pulumi has no SSH credentials for the host: set the private key as a secret " +
    "(pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519) or start an SSH agent holding the key " +
    '(eval "$(ssh-agent)"; ssh-add), so that SSH_AUTH_SOCK is set when you run pulumi up.';

/**
 * Why no connection can be made, or undefined. A preview never connects, so it only needs
 * credentials when it is not a dry run. Internal; exported for testing.
 */
export function credentialsProblem(
    hasPrivateKey: boolean,
    agentSocket: string | undefined,
    dryRun: boolean,
): string | undefined {
    if (hasPrivateKey || (agentSocket !== undefined && agentSocket !== "") || dryRun) {
        return undefined;
    }
    return noCredentialsMessage;
}

export function hostConnection(args: HostConnectionArgs): Connection {
    const problem = credentialsProblem(
        args.privateKey !== undefined,
        process.env.SSH_AUTH_SOCK,
        pulumi.runtime.isDryRun(),
    );
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
