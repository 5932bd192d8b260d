/**
 * Backups of the state volumes off the host: EBS snapshots taken by an AWS-managed lifecycle
 * policy (Data Lifecycle Manager) of every volume carrying this stack's state-volume tag, every
 * `everyHours`, keeping the last `keep`. Each backup carries the backup tag and none of the
 * volume's tags, so the hosts' role, which may prune the state-volume snapshots, may not touch a
 * backup (components/aws/policies.ts). DLM acts with its own role: snapshot only the stack's
 * state volumes, into snapshots carrying the backup tag, and delete only those. Restoring:
 * docs/operations.md.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { stackArnScope } from "./scope";
import { dlmNameCharacters } from "../../lib/constraints/aws";
import {
    backupSnapshotPolicy,
    backupTagKey,
    dlmAssumeRolePolicy,
    policyJson,
    stateVolumeTagKey,
    stateVolumeTagValue,
} from "./policies";
import { shown } from "../../lib/redact";

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
        return `everyHours must be one of ${backupIntervals.join(", ")}, got ${shown(args.everyHours)}`;
    }
    if (!Number.isInteger(args.keep) || args.keep < 1 || args.keep > 1000) {
        return `keep must be a whole number from 1 to 1000, got ${shown(args.keep)}`;
    }
    return undefined;
}

/** `text` in DLM's character set for descriptions and schedule names (letters, digits, space, '_', '-'). */
function dlmText(text: string): string {
    return text.replace(/[^0-9A-Za-z _-]+/g, " ").trim();
}

/**
 * The lifecycle policy's arguments, in what DLM accepts (lib/constraints/aws.ts: the description
 * and schedule name pattern, `^[0-9A-Za-z _-]+$`). Pure; exported for testing.
 */
export function lifecyclePolicyArgs(everyHours: number, keep: number, tagValue: string) {
    const description = `microvm-infra state volumes of ${dlmText(tagValue)} every ${everyHours}h keep ${keep}`.slice(
        0,
        500,
    );
    const name = `every ${everyHours}h keep ${keep}`;
    if (!dlmNameCharacters.test(description) || !dlmNameCharacters.test(name)) {
        throw new Error(`lifecyclePolicyArgs: ${shown(description)} or ${shown(name)} is not in DLM's character set`);
    }
    return {
        description,
        state: "ENABLED",
        policyDetails: {
            resourceTypes: ["VOLUME"],
            targetTags: { [stateVolumeTagKey]: tagValue },
            schedules: [
                {
                    name,
                    createRule: { interval: everyHours, intervalUnit: "HOURS" },
                    retainRule: { count: keep },
                    // The backup tag, and none of the volume's (its state-volume tag would let a host delete the backup).
                    copyTags: false,
                    tagsToAdd: { [backupTagKey]: tagValue },
                },
            ],
        },
    };
}

export class StateVolumeBackups extends pulumi.ComponentResource {
    constructor(name: string, args: StateVolumeBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:aws:StateVolumeBackups", name, {}, opts);
        const problem = backupsArgsProblem(args);
        if (problem) {
            throw new Error(`StateVolumeBackups ${name}: ${problem}`);
        }
        const tagValue = args.stateVolumeTag ?? stateVolumeTagValue(pulumi.getProject(), pulumi.getStack());
        const role = new aws.iam.Role(
            `${name}-role`,
            {
                description: "microvm-infra: Data Lifecycle Manager snapshots of the state volumes",
                assumeRolePolicy: JSON.stringify(dlmAssumeRolePolicy()),
                tags: args.tags,
            },
            { parent: this },
        );
        const scope = stackArnScope(this);
        const policy = new aws.iam.RolePolicy(
            `${name}-snapshots`,
            {
                role: role.id,
                policy: scope.apply((s) => policyJson(backupSnapshotPolicy(s, tagValue))),
            },
            { parent: this },
        );
        new aws.dlm.LifecyclePolicy(
            `${name}-policy`,
            {
                ...lifecyclePolicyArgs(args.everyHours, args.keep, tagValue),
                executionRoleArn: role.arn,
                tags: args.tags,
            },
            { parent: this, dependsOn: [policy] },
        );
        this.registerOutputs({});
    }
}
