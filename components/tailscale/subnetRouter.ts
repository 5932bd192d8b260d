import * as pulumi from "@pulumi/pulumi";
import { Connection } from "../deploy/connection";

export interface SubnetRouterArgs {
    readonly connection: Connection;
    /** The hostname the host joins with (tailscale.hostname). */
    readonly hostname: string;
    /** Exactly the routes to approve: the topology's slot subnets. */
    readonly routes: readonly string[];
    readonly tags: readonly string[];
}

/** TODO(issue 7): find the host's device by the node id it reports, approve its routes, disable key expiry. */
export class SubnetRouter extends pulumi.ComponentResource {
    readonly deviceId: pulumi.Output<string>;

    constructor(name: string, args: SubnetRouterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:tailscale:SubnetRouter", name, {}, opts);
        void args;
        this.deviceId = pulumi.output("");
        this.registerOutputs({ deviceId: this.deviceId });
    }
}
