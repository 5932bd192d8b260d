/**
 * Behaviour of the Pulumi engine, the providers and the hosts that the program's design relies on
 * and that is not a rule on one property's value: what a replacement is created with, what a
 * retained resource needs, how sshd picks up a new host key. Each is cited where it is relied on
 * (by its id) and has a test that holds the program to it.
 */
import { Source } from "./types";

export interface Fact {
    readonly says: string;
    readonly sources: readonly Source[];
    /** Where the program depends on it. */
    readonly reliedOnBy: string;
}

export const facts = {
    /** The engine resets every ignored path to the old inputs before it diffs, creates or replaces. */
    ignoreChangesSurviveReplacement: {
        says:
            "An ignoreChanges path keeps the value of the old inputs for the new goal, and the new goal is what a replacement is created with: " +
            "a replaced instance gets the keyName, ami and userData it was first created with, not the program's current ones (pulumi/pulumi#2657)",
        sources: [
            { rev: "pulumi@v3.259.0", path: "pkg/resource/deploy/step_generator.go", line: 1264 },
            { rev: "pulumi@v3.259.0", path: "pkg/resource/deploy/step_generator.go", line: 3026 },
        ],
        reliedOnBy:
            "components/aws/host.ts: the key pair is retainOnDelete, so the name a replacement is created with always exists; " +
            "docs/aws.md: what a replaced host boots with (its first key pair, its first AMI unless pinned, its bootstrap host key)",
    },
    /** A delete (also the delete half of a replacement) is skipped when the *old* state says retainOnDelete. */
    retainOnDeleteIsTheOldStates: {
        says: "DeleteStep skips the provider's Delete when the old state has retainOnDelete: the option takes effect from the update after the one that adds it",
        sources: [{ rev: "pulumi@v3.259.0", path: "pkg/resource/deploy/step.go", line: 661 }],
        reliedOnBy:
            "components/aws/stateVolume.ts (the state volume) and components/aws/host.ts (the key pair): docs/aws.md says to upgrade before rotating the first key",
    },
    /** A dependent is replaced with a delete-before-replace resource only through a property that forces its replacement. */
    dependentReplacementOnlyThroughProperties: {
        says:
            "When a deleteBeforeReplace resource is replaced, a dependent is replaced too only if one of its properties comes from it and the provider's diff " +
            "(with the dependent's ignoreChanges) says replace; a dependsOn edge alone never replaces it",
        sources: [
            { rev: "pulumi@v3.259.0", path: "pkg/resource/deploy/step_generator.go", line: 3272 },
            { rev: "pulumi@v3.259.0", path: "pkg/resource/deploy/step_generator.go", line: 3316 },
        ],
        reliedOnBy:
            "components/aws/stateVolume.ts: the attachment waits for the host to be reachable (dependsOn), which never replaces it",
    },
    /** A local command's update gets the previous stdout; its create (a new resource: replaced by triggers) does not. */
    commandUpdateSeesPreviousStdout: {
        says:
            "pulumi-command runs `update` (or `create` when there is none) on an input change, with the previous stdout in PULUMI_COMMAND_STDOUT; " +
            "a triggers change replaces the resource, and the new one's create runs without it",
        sources: [
            { rev: "pulumi-command@v1.2.1", path: "provider/pkg/provider/local/commandController.go", line: 82 },
            { rev: "pulumi-command@v1.2.1", path: "provider/pkg/provider/local/commandOutputs.go", line: 88 },
            { rev: "pulumi-command@v1.2.1", path: "provider/pkg/provider/common/inputs.go", line: 10 },
        ],
        reliedOnBy:
            "components/deploy/reachable.ts: a new machine (create) is met with the bootstrap host key, the same machine (update) with the key it reported last",
    },
    /** sshd re-executes itself on SIGHUP, reading its host keys again; open sessions are not affected. */
    sshdReloadReadsHostKeys: {
        says:
            "sshd restarts itself on SIGHUP (execv of its own argv), so a new host key file is served from the next connection on; " +
            "`systemctl kill --signal=HUP --kill-whom=main sshd.service` sends it (NixOS's sshd.service defines no ExecReload)",
        sources: [{ rev: "openssh@V_10_5_P1", path: "sshd.c", line: 514 }],
        reliedOnBy:
            "components/deploy/remote/host-key.sh: the host's own key replaces the bootstrap key without dropping the session that installs it",
    },
    /** On the Nitro system the instance id is readable from DMI without IMDS. */
    nitroInstanceIdInDmi: {
        says: "For instances built on the Nitro system (every Graviton .metal type), /sys/devices/virtual/dmi/id/board_asset_tag holds the instance id",
        sources: [
            {
                url: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/identify_ec2_instances.html",
                says: "for instances built on the Nitro system, you can use: cat /sys/devices/virtual/dmi/id/board_asset_tag (output: an instance ID)",
                read: "2026-12 (search index copy)",
            },
        ],
        reliedOnBy:
            "components/deploy/remote/host-key.sh: Pulumi checks it talks to the instance it expects, not an old machine answering to the same name",
    },
    /** The volume's update returns once AWS accepted the modification, before the host can see the new size. */
    volumeUpdateReturnsBeforeTheSizeShows: {
        says:
            "The EBS volume's update calls ModifyVolume and then waits for the volume's state (available or in-use), which a modification does not " +
            "change, not for the modification's (modifying, then optimizing, when the new size is usable): the switch after it may find the old size. " +
            "AWS: the file system can be extended as soon as the volume is optimizing",
        sources: [
            {
                rev: "terraform-provider-aws@v5.14.0",
                path: "internal/service/ec2/ebs_volume.go",
                line: 270,
                alsoAt: {
                    rev: "terraform-provider-aws@v6-index",
                    where: "ebs_volume.go resourceEBSVolumeUpdate: waitVolumeUpdated after conn.ModifyVolume, as in v5",
                },
            },
            { rev: "terraform-provider-aws@v5.14.0", path: "internal/service/ec2/wait.go", line: 1710 },
            {
                url: "https://docs.aws.amazon.com/ebs/latest/userguide/recognize-expanded-volume-linux.html",
                says: "after you increase the size of an EBS volume, you must extend the partition and file system; you can do this as soon as the volume enters the optimizing state",
                read: "2026-12 (search index copy, the Japanese edition)",
            },
        ],
        reliedOnBy:
            "nixos/scripts/disk-lib.bash check_size: a switch that finds the pool or filesystem already online waits (up to 5 minutes) for the grown size, then grows into it",
    },
} as const satisfies Record<string, Fact>;

export type FactId = keyof typeof facts;
