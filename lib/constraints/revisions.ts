/**
 * Which upstream revisions the constraint table was read at, and how each relates to what
 * package.json pins. Where the pinned revision's source could not be had (the snapshot is larger
 * than what could be fetched, or newer than the newest stored one), the nearest readable one is
 * named here and the difference is said, once, for every entry that cites it.
 */
export interface Revision {
    /** GitHub owner/name the path and line refer to. */
    readonly repo: string;
    /** The commit read. */
    readonly commit: string;
    /** A tag or branch naming it. */
    readonly ref: string;
    /** The package.json pin this stands for. */
    readonly pinned: string;
    /** How the revision read relates to the pin. */
    readonly relation: string;
}

export const revisions = {
    "terraform-provider-aws@v5.14.0": {
        repo: "pulumi/terraform-provider-aws",
        commit: "122a58103640826a4793ef37353289632b78452b",
        ref: "patched-v5.14.0",
        pinned: "@pulumi/aws 7.48.0 (npm, 2026-09-22)",
        relation:
            "nearest whole source that could be read. @pulumi/aws 7.x bridges hashicorp/terraform-provider-aws v6 " +
            "(pulumi/pulumi-aws#5665 moved to v6.3.0 in 2025-07; #6392 bridged v6.46.0 on 2026-05-22, so 7.48.0 bridges " +
            "v6.46.0 or later). The v6 repositories are larger than can be fetched here; the facts an entry relies on " +
            "were re-read in a 2026 v6 revision where its `alsoAt` says so",
    },
    "terraform-provider-aws@v6.32": {
        repo: "zongruxie4/terraform-provider-aws",
        commit: "19bdae64587d26f6df55f0b6c803c1e680427756",
        ref: "a fork of hashicorp/terraform-provider-aws at v6.32 (its CHANGELOG.md tops at 6.32.1, 2026-02-13)",
        pinned: "@pulumi/aws 7.48.0",
        relation:
            "read file by file from the search index (byte offsets, no line numbers): the nearest v6 source to " +
            "the bridged v6.46+",
    },
    "terraform-provider-aws@v6-index": {
        repo: "hashicorp/terraform-provider-aws",
        commit: "(not recorded by the search index)",
        ref: "a v6 version of the file as the search index stores it (aws-sdk-go-v2, names.Attr* constants: 2025-2026)",
        pinned: "@pulumi/aws 7.48.0",
        relation: "a second reading of one fact in a v6 source, where no whole v6 checkout could be had",
    },
    "botocore@1.43.67": {
        repo: "boto/botocore",
        commit: "0e6e2404b85dc336dd2889814e089bde7d1a4c55",
        ref: "develop, 2026-08-07 (botocore 1.43.67)",
        pinned: "the AWS APIs themselves (no package): the service models state the patterns and limits the APIs enforce",
        relation:
            "AWS's own API models, as shipped in the AWS SDK for Python; used where the provider does not validate",
    },
    "pulumi@v3.259.0": {
        repo: "pulumi/pulumi",
        commit: "0ac56e876614aedf12771d73ef7e80959b8a6fd4",
        ref: "v3.259.0",
        pinned: "@pulumi/pulumi 3.276.0 (npm, 2026-11-12)",
        relation:
            "the newest engine revision stored (2026-08-19); the engine code cited has been unchanged since long " +
            "before (ignoreChanges processing: pulumi/pulumi#2657)",
    },
    "pulumi-command@v1.2.1": {
        repo: "pulumi/pulumi-command",
        commit: "7f3eb6f3b77cd0fa3895ba437a695dd393f7dd25",
        ref: "v1.2.1",
        pinned: "@pulumi/command 1.2.1",
        relation: "exactly the pinned version",
    },
    "pulumi-go-provider@v1.3.0": {
        repo: "pulumi/pulumi-go-provider",
        commit: "3bfb720d763cca9c53a2af4016e224f7259f6345",
        ref: "v1.3.0",
        pinned: "@pulumi/command 1.2.1 (its provider/go.mod requires github.com/pulumi/pulumi-go-provider v1.3.0)",
        relation:
            "exactly the version pulumi-command v1.2.1 builds with: its infer package runs the command resources' Read",
    },
    "terraform-provider-tailscale@v0.29.2": {
        repo: "tailscale/terraform-provider-tailscale",
        commit: "fc9a21bfb64a72a349a4b011f9dad2a9df374697",
        ref: "v0.29.2",
        pinned: "@pulumi/tailscale 0.29.1 (npm, 2026-09-22)",
        relation:
            "pulumi/pulumi-tailscale bridges terraform-provider-tailscale v0.29.2 from its v0.29.0 tag on " +
            "(provider/go.mod, commit e377392, 2026-06-26); 0.29.1 was published after the newest stored " +
            "pulumi-tailscale commit (2026-07-24), which still bridges v0.29.2",
    },
    "tailscale@de9ec7ee": {
        repo: "tailscale/tailscale",
        commit: "de9ec7ee25627e0e518f53c710a3fc3d947c86c1",
        ref: "main, 2026-08-22 (v1.103.0-pre)",
        pinned: "the tailnet's control plane and the host's tailscaled (NixOS 26.05); the provider builds with tailscale.com v1.98.3",
        relation: "tailcfg.CheckTag, the rule the control plane applies to tags, unchanged since 2020",
    },
    "terraform-provider-tls@v4.2.1+23": {
        repo: "hashicorp/terraform-provider-tls",
        commit: "d72d90e1b47b7cb5ce6863f528af3154963d61b7",
        ref: "main, 2026-04-28 (v4.2.1 and 23 commits)",
        pinned: "@pulumi/tls 5.6.1 (npm, 2026-09-22)",
        relation:
            "pulumi/pulumi-tls bridges terraform-provider-tls v1.2.1-0.20260513075833-609226f53114 (v4.3.0, " +
            "provider/go.mod); that commit is 15 days newer than the newest stored one, read instead",
    },
    "openssh@V_10_5_P1": {
        repo: "openssh/openssh-portable",
        commit: "f11c902f8b6026d68f980b8b14b7fd75f6f95d5f",
        ref: "V_10_5_P1",
        pinned: "the hosts' sshd (NixOS 26.05) and the operator's OpenSSH client",
        relation:
            "the newest release stored; the code cited (the command run through the login shell's -c, SIGHUP re-exec) is decades old",
    },
    "linux@2cc2c3cb": {
        repo: "torvalds/linux",
        commit: "2cc2c3cb54de578666d905537e4c15969caf0dc5",
        ref: "master (as stored)",
        pinned: "the hosts' kernels (NixOS 26.05 on the host, Linux on the operator's machine)",
        relation: "the limit cited has not changed since Linux 2.6.23",
    },
} as const satisfies Record<string, Revision>;

export type RevisionKey = keyof typeof revisions;
