import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { constraint, rule } from "../../lib/constraints";
import { stateVolumeTagKey, stateVolumeTagValue } from "./policies";

export interface StateVolumeArgs {
    /** Must be the host's zone: an EBS volume attaches only within its zone. */
    readonly availabilityZone: pulumi.Input<string>;
    /** Only grows: a smaller size than the volume has is refused (`volumeShrinkProblem`). */
    readonly sizeGiB: number;
    /** The config key `sizeGiB` came from, for messages. Defaults to `sizeGiB`. */
    readonly sizeKey?: string;
    /** Defaults to `gp3` in the stack config. */
    readonly volumeType: "gp3" | "io2";
    readonly iops?: number;
    /** gp3 only. */
    readonly throughputMiBps?: number;
    /** The instance to attach to; a replaced instance gets the same volume re-attached. */
    readonly instanceId: pulumi.Input<string>;
    /**
     * What must be done before the volume is attached (or, on a replacement, detached from the old
     * instance, which stops it): the new machine reached. A `dependsOn` edge never replaces the
     * attachment (lib/constraints/facts.ts dependentReplacementOnlyThroughProperties). Defaults to none.
     */
    readonly attachAfter?: pulumi.Input<pulumi.Resource>[];
    /**
     * An EBS snapshot to create the volume from (restoring a lost host's states). Only read when the
     * volume is created: the volume is protected, so a changed snapshot stops `pulumi up`.
     */
    readonly snapshotId?: string;
    /** Value of the state-volume tag the host's snapshot policy checks (and backups select). Defaults to `<project>/<stack>`. */
    readonly stateVolumeTag?: string;
    readonly tags: Record<string, string>;
}

/** The by-id path under which an attached EBS volume appears on a Nitro instance. */
export function ebsDevicePath(volumeId: string): string {
    return `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`;
}

/**
 * Why `configured` GiB cannot be applied to a volume of `current` GiB, or undefined: EBS volumes
 * only grow (lib/constraints/aws.ts, aws:ebs/volume:Volume size). Pure; exported for testing.
 */
export function volumeShrinkProblem(configured: number, current: number | undefined, key: string): string | undefined {
    if (current === undefined || configured >= current) {
        return undefined;
    }
    return (
        `${key} is ${configured} GiB, but the state volume is already ${current} GiB and an EBS volume cannot shrink ` +
        `(${rule(constraint("aws:ebs/volume:Volume", "size"), "growOnly").says}); set ${key} to ${current} or more`
    );
}

/** The device name the attachment asks for; NixOS finds the volume by id, not by this name. */
export const stateDeviceName = "/dev/sdf";

/**
 * The encrypted EBS volume holding the ZFS pool, and its attachment to the host.
 *
 * The volume outlives everything else: `protect` makes `pulumi up`/`destroy` stop with an error
 * instead of deleting it, and `retainOnDelete` keeps the real volume even once it is unprotected
 * and removed from the stack. Only the attachment follows the instance: when the instance is
 * replaced, the attachment is deleted first (`deleteBeforeReplace`; the old host is stopped before
 * the detach, so ZFS is not pulled from under a running pool) and re-created on the new host, once
 * the new host has been reached (`attachAfter`): until then the old host keeps running its VMs, and
 * a new host that cannot be reached leaves it running. That dependsOn edge never replaces the
 * attachment by itself (lib/constraints/facts.ts dependentReplacementOnlyThroughProperties);
 * `retainOnDelete` counts from the update after the one that adds it (retainOnDeleteIsTheOldStates).
 */
export class StateVolume extends pulumi.ComponentResource {
    readonly volumeId: pulumi.Output<string>;
    /** Stable by-id device path on the host (/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol...). */
    readonly devicePath: pulumi.Output<string>;

    constructor(name: string, args: StateVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:aws:StateVolume", name, {}, opts);
        const tagValue = args.stateVolumeTag ?? stateVolumeTagValue(pulumi.getProject(), pulumi.getStack());

        const volume = new aws.ebs.Volume(
            `${name}-state`,
            {
                availabilityZone: args.availabilityZone,
                size: args.sizeGiB,
                type: args.volumeType,
                iops: args.iops,
                snapshotId: args.snapshotId,
                throughput: args.volumeType === "gp3" ? args.throughputMiBps : undefined,
                encrypted: true,
                // If it is ever deleted after all (unprotected, retainOnDelete removed), AWS snapshots it first.
                finalSnapshot: true,
                tags: { ...args.tags, Name: `${name}-state`, [stateVolumeTagKey]: tagValue },
            },
            { parent: this, protect: true, retainOnDelete: true },
        );

        const attachment = new aws.ec2.VolumeAttachment(
            `${name}-state`,
            {
                deviceName: stateDeviceName,
                volumeId: volume.id,
                instanceId: args.instanceId,
                stopInstanceBeforeDetaching: true,
            },
            { parent: this, deleteBeforeReplace: true, dependsOn: args.attachAfter ?? [] },
        );

        // The volume as AWS has it now: while `pulumi preview` plans, a size below it is an error
        // naming the key, before anything is touched (AWS would refuse the modification).
        const current = aws.ebs.getVolumeOutput(
            { filters: [{ name: "volume-id", values: [volume.id] }] },
            { parent: this },
        );
        const sizeChecked = current.apply((v) => {
            const problem = volumeShrinkProblem(args.sizeGiB, v.size, args.sizeKey ?? "sizeGiB");
            if (problem) {
                throw new Error(problem);
            }
            return true;
        });

        this.volumeId = volume.id;
        // Through the attachment: the path exists on the host only once the volume is attached.
        this.devicePath = pulumi.all([volume.id, attachment.id, sizeChecked]).apply(([id]) => ebsDevicePath(id));
        this.registerOutputs({ volumeId: this.volumeId, devicePath: this.devicePath });
    }
}
