/**
 * Backups of the state volumes off the host: EBS snapshots taken by an AWS-managed lifecycle
 * policy (Data Lifecycle Manager) of every volume carrying this stack's state-volume tag, every
 * `everyHours`, keeping the last `keep`. DLM acts with its own role, allowed exactly what the host
 * itself may do with its snapshots (components/aws/policies.ts): snapshot only the tagged volumes,
 * tag the snapshots at creation, delete only tagged snapshots. Restoring: docs/operations.md.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { stackArnScope } from "./scope";
import { dlmAssumeRolePolicy, policyJson, stateSnapshotPolicy, stateVolumeTagKey, stateVolumeTagValue } from "./policies";

export const backupIntervals = [1, 2, 3, 4, 6, 8, 12, 24] as const;

export interface StateVolumeBackupsArgs {
    /** Hours between snapshots: one of 1, 2, 3, 4, 6, 8, 12, 24. */
    readonly everyHours: number;
    /** Snapshots kept per volume, 1 to 1000. */
    readonly keep: number;
    /** The state-volume tag's value to select. Defaults to `<project>/<stack>`. */
    readonly stateVolumeTag?: string;
    readonly tags: Record<string, string>;
}

/** Why the args are invalid, naming the argument, or undefined. Internal; exported for testing. */
export function backupsArgsProblem(args: Pick<StateVolumeBackupsArgs, "everyHours" | "keep">): string | undefined {
    if (!(backupIntervals as readonly number[]).includes(args.everyHours)) {
        return `everyHours must be one of ${backupIntervals.join(", ")}, got ${args.everyHours}`;
    }
    if (!Number.isInteger(args.keep) || args.keep < 1 || args.keep > 1000) {
        return `keep must be a whole number from 1 to 1000, got ${args.keep}`;
    }
    return undefined;
}

export class StateVolumeBackups extends pulumi.ComponentResource {
    constructor(name: string, args: StateVolumeBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:aws:StateVolumeBackups", name, {}, opts);
        const problem = backupsArgsProblem(args);
        if (problem) {
            throw new Error(`StateVolumeBackups ${name}: ${problem}`);
        }
        const tagValue = args.stateVolumeTag ?? stateVolumeTagValue(pulumi.getProject(), pulumi.getStack());
        const role = new aws.iam.Role(`${name}-role`, {
            description: "microvm-infra: Data Lifecycle Manager snapshots of the state volumes",
            assumeRolePolicy: JSON.stringify(dlmAssumeRolePolicy()),
            tags: args.tags,
        }, { parent: this });
        const scope = stackArnScope(this);
        const policy = new aws.iam.RolePolicy(`${name}-snapshots`, {
            role: role.id,
            policy: scope.apply((s) => policyJson(stateSnapshotPolicy(s, tagValue))),
        }, { parent: this });
        new aws.dlm.LifecyclePolicy(`${name}-policy`, {
            description: `microvm-infra state volumes of ${tagValue}: every ${args.everyHours}h, keep ${args.keep}`,
            executionRoleArn: role.arn,
            state: "ENABLED",
            policyDetails: {
                resourceTypes: ["VOLUME"],
                targetTags: { [stateVolumeTagKey]: tagValue },
                schedules: [{
                    name: `every ${args.everyHours}h, keep ${args.keep}`,
                    createRule: { interval: args.everyHours, intervalUnit: "HOURS" },
                    retainRule: { count: args.keep },
                    // The volume's tags, the state-volume tag among them: the role may only create tagged snapshots.
                    copyTags: true,
                }],
            },
            tags: args.tags,
        }, { parent: this, dependsOn: [policy] });
        this.registerOutputs({});
    }
}
