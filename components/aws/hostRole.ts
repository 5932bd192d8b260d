import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { stackArnScope } from "./scope";
import { ec2AssumeRolePolicy, policyJson, ssmCorePolicy, stateSnapshotPolicy, stateVolumeTagValue } from "./policies";

export interface HostRoleArgs {
    /**
     * Value of the state-volume tag the snapshot policy is scoped to. Defaults to
     * `<project>/<stack>` (`stateVolumeTagValue`), the same default `StateVolume` tags its volume with.
     */
    readonly stateVolumeTag?: string;
    readonly tags: Record<string, string>;
}

/**
 * The host's IAM role and instance profile. Only EC2 may assume the role; its inline policies
 * (components/aws/policies.ts) allow SSM break-glass access and snapshots of the host's own state
 * volume, nothing else.
 */
export class HostRole extends pulumi.ComponentResource {
    readonly roleArn: pulumi.Output<string>;
    readonly instanceProfileName: pulumi.Output<string>;

    constructor(name: string, args: HostRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:aws:HostRole", name, {}, opts);
        const tagValue = args.stateVolumeTag ?? stateVolumeTagValue(pulumi.getProject(), pulumi.getStack());

        const role = new aws.iam.Role(
            `${name}-role`,
            {
                description: "microvm-infra host: SSM break-glass access and snapshots of its own state volume",
                assumeRolePolicy: JSON.stringify(ec2AssumeRolePolicy()),
                tags: args.tags,
            },
            { parent: this },
        );

        new aws.iam.RolePolicy(`${name}-ssm`, { role: role.id, policy: policyJson(ssmCorePolicy()) }, { parent: this });

        const scope = stackArnScope(this);
        new aws.iam.RolePolicy(
            `${name}-state-snapshots`,
            {
                role: role.id,
                policy: scope.apply((s) => policyJson(stateSnapshotPolicy(s, tagValue))),
            },
            { parent: this },
        );

        // A role's and an instance profile's ids are their names.
        const profile = new aws.iam.InstanceProfile(
            `${name}-profile`,
            { role: role.id, tags: args.tags },
            { parent: this },
        );

        this.roleArn = role.arn;
        this.instanceProfileName = profile.id;
        this.registerOutputs({ roleArn: this.roleArn, instanceProfileName: this.instanceProfileName });
    }
}
