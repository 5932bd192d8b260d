import * as pulumi from "@pulumi/pulumi";

export interface NetworkArgs {
    /** The VPC's CIDR; must not overlap the slots' 10.N.0.0/24 subnets. */
    readonly vpcCidr: string;
    /** The host's public subnet, inside `vpcCidr`. */
    readonly subnetCidr: string;
    /** Where the subnet (and so the host and its state volume) lives. */
    readonly availabilityZone: pulumi.Input<string>;
    /** CIDRs allowed to reach SSH on the public address. Empty means no public SSH at all. */
    readonly adminCidrs: readonly string[];
    readonly tags: Record<string, string>;
}

/** TODO(issue 3): VPC, public subnet, internet gateway, route, security group. */
export class Network extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly subnetId: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:aws:Network", name, {}, opts);
        void args;
        this.vpcId = pulumi.output("");
        this.subnetId = pulumi.output("");
        this.securityGroupId = pulumi.output("");
        this.registerOutputs({ vpcId: this.vpcId, subnetId: this.subnetId, securityGroupId: this.securityGroupId });
    }
}
