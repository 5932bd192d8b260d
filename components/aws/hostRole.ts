import * as pulumi from "@pulumi/pulumi";

export interface HostRoleArgs {
    readonly tags: Record<string, string>;
}

/** TODO(issue 3): the host's IAM role, instance profile and least-privilege policies. */
export class HostRole extends pulumi.ComponentResource {
    readonly roleArn: pulumi.Output<string>;
    readonly instanceProfileName: pulumi.Output<string>;

    constructor(name: string, args: HostRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:aws:HostRole", name, {}, opts);
        void args;
        this.roleArn = pulumi.output("");
        this.instanceProfileName = pulumi.output("");
        this.registerOutputs({ roleArn: this.roleArn, instanceProfileName: this.instanceProfileName });
    }
}
