import * as pulumi from "@pulumi/pulumi";

export interface StateVolumeArgs {
    readonly availabilityZone: pulumi.Input<string>;
    readonly sizeGiB: number;
    readonly volumeType: "gp3" | "io2";
    readonly iops?: number;
    readonly throughputMiBps?: number;
    /** The instance to attach to; a replaced instance gets the same volume re-attached. */
    readonly instanceId: pulumi.Input<string>;
    readonly tags: Record<string, string>;
}

/** TODO(issue 3): the encrypted, protected EBS volume holding the ZFS pool, and its attachment. */
export class StateVolume extends pulumi.ComponentResource {
    readonly volumeId: pulumi.Output<string>;
    /** Stable by-id device path on the host (/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol...). */
    readonly devicePath: pulumi.Output<string>;

    constructor(name: string, args: StateVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:aws:StateVolume", name, {}, opts);
        void args;
        this.volumeId = pulumi.output("");
        this.devicePath = pulumi.output("");
        this.registerOutputs({ volumeId: this.volumeId, devicePath: this.devicePath });
    }
}
