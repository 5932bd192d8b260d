import * as pulumi from "@pulumi/pulumi";
import { types } from "@pulumi/command";

export type Connection = pulumi.Input<types.input.remote.ConnectionArgs>;

export interface HostConnectionArgs {
    /** Address or name Pulumi dials: the Elastic IP, or the host's tailnet name. */
    readonly address: pulumi.Input<string>;
    /** The host's SSH public key; connections refuse any other. */
    readonly hostPublicKey: pulumi.Input<string>;
    /** Secret private key; undefined means the user's SSH agent. */
    readonly privateKey?: pulumi.Input<string>;
}

/** TODO(issue 6): the one place connections are built (host key pinned, retries for a metal boot). */
export function hostConnection(args: HostConnectionArgs): Connection {
    return { host: args.address, user: "root", hostKey: args.hostPublicKey, privateKey: args.privateKey };
}
