/**
 * Every IAM document the host's role carries, as pure functions: the one place to review what the
 * host may do in AWS. Each statement has a `Sid` that says why it exists. `policyProblems` is the
 * rule the tests (and the policy pack) hold every document to (no `Action: "*"`, no `Allow` with
 * `NotAction`, no mutating EC2 action on `Resource: "*"` without a condition).
 */

export interface PolicyStatement {
    readonly Sid: string;
    readonly Effect: "Allow" | "Deny";
    /** What the statement allows or denies. A document written elsewhere may use `NotAction` instead. */
    readonly Action?: string | readonly string[];
    readonly NotAction?: string | readonly string[];
    readonly Resource?: string | readonly string[];
    readonly Principal?: Record<string, string | readonly string[]>;
    readonly Condition?: Record<string, Record<string, string | readonly string[]>>;
}

export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: readonly PolicyStatement[];
}

/** Where the roles' ARNs point: the stack's partition, region and account (`stackArnScope` looks them up). */
export interface ArnScope {
    readonly partition: string;
    readonly region: string;
    readonly accountId: string;
}

/**
 * The tag that marks the state volume and the snapshots the host takes of it. The host may only
 * snapshot a volume carrying it, and only create or delete snapshots carrying it.
 */
export const stateVolumeTagKey = "microvm-infra:state-volume";

/**
 * The tag the stack's backups carry (DLM adds it to each snapshot it takes, copying none of the
 * volume's tags): no host may delete a snapshot carrying it, or make a snapshot that carries it.
 * Same value as the state-volume tag, `<project>/<stack>`.
 */
export const backupTagKey = "microvm-infra:backup";

/** The tag's value for one stack: `<project>/<stack>`, so two stacks never touch each other's volume. */
export function stateVolumeTagValue(project: string, stack: string): string {
    return `${project}/${stack}`;
}

/** Trust policy: only one AWS service may assume the role. */
function serviceAssumeRolePolicy(sid: string, service: string): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [{ Sid: sid, Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
    };
}

/** Trust policy: only the EC2 service may assume the role (for the instance profile). */
export const ec2AssumeRolePolicy = (): PolicyDocument =>
    serviceAssumeRolePolicy("OnlyEc2AssumesThisRole", "ec2.amazonaws.com");

/** Trust policy: only Data Lifecycle Manager may assume the role (the state volumes' backups). */
export const dlmAssumeRolePolicy = (): PolicyDocument =>
    serviceAssumeRolePolicy("OnlyDataLifecycleManagerAssumesThisRole", "dlm.amazonaws.com");

/** The document as JSON, refusing one that breaks `policyProblems`' rules. */
export function policyJson(doc: PolicyDocument): string {
    const problems = policyProblems(doc);
    if (problems.length > 0) {
        throw new Error(`refusing an IAM policy that breaks the rules: ${problems.join("; ")}`);
    }
    return JSON.stringify(doc);
}

/**
 * Break-glass access through SSM Session Manager and Run Command (the NixOS image runs the SSM
 * agent): the agent's own channel actions, a subset of `AmazonSSMManagedInstanceCore` without its
 * parameter-store and association reads. These actions take no resource ARN, hence `*`; none of
 * them touches EC2 resources.
 */
export function ssmCorePolicy(): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "SsmAgentRegistersThisInstance",
                Effect: "Allow",
                Action: ["ssm:UpdateInstanceInformation"],
                Resource: "*",
            },
            {
                Sid: "SsmSessionManagerChannels",
                Effect: "Allow",
                Action: [
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel",
                ],
                Resource: "*",
            },
            {
                Sid: "SsmRunCommandMessages",
                Effect: "Allow",
                Action: [
                    "ec2messages:AcknowledgeMessage",
                    "ec2messages:DeleteMessage",
                    "ec2messages:FailMessage",
                    "ec2messages:GetEndpoint",
                    "ec2messages:GetMessages",
                    "ec2messages:SendReply",
                ],
                Resource: "*",
            },
        ],
    };
}

/**
 * EBS snapshots of the host's own state volume: create them (only from a volume tagged as this
 * stack's state volume, and only if the snapshot carries the same tag), tag them at creation, list
 * them, and delete only snapshots carrying the tag (pruning old ones). Never a backup: a snapshot
 * carrying the backup tag (of any stack of the fleet) cannot be deleted, made or tagged by the host,
 * so root on one host cannot wipe or forge the backups.
 */
export function stateSnapshotPolicy(scope: ArnScope, tagValue: string): PolicyDocument {
    const { volumes, snapshots, tagged } = snapshotScope(scope, stateVolumeTagKey, tagValue);
    const anyBackupTag = (prefix: "aws:ResourceTag" | "aws:RequestTag") => ({
        Null: { [`${prefix}/${backupTagKey}`]: "false" },
    });
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "SnapshotOnlyTheTaggedStateVolume",
                Effect: "Allow",
                Action: ["ec2:CreateSnapshot"],
                Resource: volumes,
                Condition: tagged("aws:ResourceTag"),
            },
            {
                Sid: "NewSnapshotsMustCarryTheStateTag",
                Effect: "Allow",
                Action: ["ec2:CreateSnapshot"],
                Resource: snapshots,
                Condition: tagged("aws:RequestTag"),
            },
            tagOnlyWhileCreating(snapshots),
            {
                Sid: "PruneOnlyTaggedStateSnapshots",
                Effect: "Allow",
                Action: ["ec2:DeleteSnapshot"],
                Resource: snapshots,
                Condition: tagged("aws:ResourceTag"),
            },
            {
                Sid: "NeverDeleteABackup",
                Effect: "Deny",
                Action: ["ec2:DeleteSnapshot"],
                Resource: snapshots,
                Condition: anyBackupTag("aws:ResourceTag"),
            },
            {
                Sid: "NeverMakeASnapshotLookLikeABackup",
                Effect: "Deny",
                Action: ["ec2:CreateSnapshot", "ec2:CreateTags"],
                Resource: snapshots,
                Condition: anyBackupTag("aws:RequestTag"),
            },
            listReadOnly,
        ],
    };
}

/**
 * What Data Lifecycle Manager may do for the stack's backups: snapshot the stack's tagged state
 * volumes into snapshots carrying the backup tag, tag them at creation, and delete (its retention
 * rule) only snapshots carrying the backup tag.
 */
export function backupSnapshotPolicy(scope: ArnScope, tagValue: string): PolicyDocument {
    const { volumes, snapshots, tagged } = snapshotScope(scope, stateVolumeTagKey, tagValue);
    const backup = snapshotScope(scope, backupTagKey, tagValue).tagged;
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "SnapshotOnlyTheStacksStateVolumes",
                Effect: "Allow",
                Action: ["ec2:CreateSnapshot"],
                Resource: volumes,
                Condition: tagged("aws:ResourceTag"),
            },
            {
                Sid: "BackupsMustCarryTheBackupTag",
                Effect: "Allow",
                Action: ["ec2:CreateSnapshot"],
                Resource: snapshots,
                Condition: backup("aws:RequestTag"),
            },
            tagOnlyWhileCreating(snapshots),
            {
                Sid: "PruneOnlyTheStacksBackups",
                Effect: "Allow",
                Action: ["ec2:DeleteSnapshot"],
                Resource: snapshots,
                Condition: backup("aws:ResourceTag"),
            },
            listReadOnly,
        ],
    };
}

function snapshotScope(scope: ArnScope, tagKey: string, tagValue: string) {
    return {
        volumes: `arn:${scope.partition}:ec2:${scope.region}:${scope.accountId}:volume/*`,
        snapshots: `arn:${scope.partition}:ec2:${scope.region}::snapshot/*`,
        tagged: (prefix: "aws:ResourceTag" | "aws:RequestTag") => ({
            StringEquals: { [`${prefix}/${tagKey}`]: tagValue },
        }),
    };
}

const tagOnlyWhileCreating = (snapshots: string): PolicyStatement => ({
    Sid: "TagSnapshotsOnlyWhileCreatingThem",
    Effect: "Allow",
    Action: ["ec2:CreateTags"],
    Resource: snapshots,
    Condition: { StringEquals: { "ec2:CreateAction": "CreateSnapshot" } },
});

const listReadOnly: PolicyStatement = {
    Sid: "ListSnapshotsAndVolumesReadOnly",
    Effect: "Allow",
    Action: ["ec2:DescribeSnapshots", "ec2:DescribeVolumes"],
    Resource: "*",
};

const readOnlyVerbs = /^(Describe|Get|List)/;

function list(v: string | readonly string[] | undefined): readonly string[] {
    return v === undefined ? [] : typeof v === "string" ? [v] : v;
}

/** True for an EC2 action that changes something (anything but Describe*, Get*, List*). */
export function isMutatingEc2Action(action: string): boolean {
    const [service, verb = ""] = action.split(":");
    return service.toLowerCase() === "ec2" && !readOnlyVerbs.test(verb);
}

/**
 * What is wrong with a permission policy, as sentences naming the statement; empty when it keeps
 * the rules: no `*` action (or `service:*`), no mutating EC2 action on `Resource: "*"` without a
 * condition, every statement with a Sid. Internal; exported for testing.
 */
export function policyProblems(doc: PolicyDocument): string[] {
    const problems: string[] = [];
    doc.Statement.forEach((s, i) => {
        const id = s.Sid || `statement ${i}`;
        if (!s.Sid) {
            problems.push(`statement ${i} has no Sid saying what it is for`);
        }
        if (s.Effect === "Allow" && s.NotAction !== undefined) {
            problems.push(
                `${id}: Allow with NotAction grants every action but the listed ones; list the actions instead`,
            );
        }
        for (const action of list(s.Action)) {
            if (action === "*" || action.endsWith(":*")) {
                problems.push(`${id}: action "${action}" grants every action`);
            }
            if (s.Effect === "Allow" && isMutatingEc2Action(action) && list(s.Resource).includes("*") && !s.Condition) {
                problems.push(`${id}: mutating action "${action}" on Resource "*" without a condition`);
            }
        }
    });
    return problems;
}
