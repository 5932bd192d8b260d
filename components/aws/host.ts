import * as pulumi from "@pulumi/pulumi";

export interface HostArgs {
    /** A Graviton .metal type (validated by the stack config). */
    readonly instanceType: string;
    /** Pinned AMI; undefined means the newest official NixOS arm64 AMI, looked up. */
    readonly ami?: string;
    readonly rootVolumeGiB: number;
    /** The first operator key: root's first authorized key, through an EC2 key pair. */
    readonly sshPublicKey: string;
    readonly subnetId: pulumi.Input<string>;
    readonly securityGroupIds: pulumi.Input<string>[];
    readonly instanceProfileName: pulumi.Input<string>;
    readonly availabilityZone: pulumi.Input<string>;
    readonly tags: Record<string, string>;
}

/** TODO(issue 3): key pair, SSH host key, NixOS AMI lookup, instance, Elastic IP. */
export class Host extends pulumi.ComponentResource {
    readonly instanceId: pulumi.Output<string>;
    /** The Elastic IP: survives stop/start. */
    readonly publicIp: pulumi.Output<string>;
    readonly availabilityZone: pulumi.Output<string>;
    /** The host's SSH public key (OpenSSH line), pinned by every connection Pulumi makes. */
    readonly hostPublicKey: pulumi.Output<string>;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:aws:Host", name, {}, opts);
        this.instanceId = pulumi.output("");
        this.publicIp = pulumi.output("");
        this.availabilityZone = pulumi.output(args.availabilityZone);
        this.hostPublicKey = pulumi.output("");
        this.registerOutputs({ instanceId: this.instanceId, publicIp: this.publicIp, hostPublicKey: this.hostPublicKey });
    }
}
