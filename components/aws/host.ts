import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { hostAmi } from "./nixosAmi";
import { hostKeyUserData } from "./userData";

export interface HostArgs {
    /**
     * A Graviton .metal type (validated by the stack config). Changing it stops the instance,
     * changes its type and starts it again, in place (the provider's update: lib/constraints/aws.ts).
     */
    readonly instanceType: string;
    /** Pinned AMI; undefined means the newest official NixOS arm64 AMI, looked up. */
    readonly ami?: string;
    /** Size of the encrypted gp3 root volume. */
    readonly rootVolumeGiB: number;
    /**
     * The key EC2 installs for root at the instance's first boot (through an EC2 key pair): the
     * one Pulumi logs in with until NixOS is deployed. Changing it never replaces the instance.
     */
    readonly firstBootKey: string;
    readonly subnetId: pulumi.Input<string>;
    readonly securityGroupIds: pulumi.Input<string>[];
    readonly instanceProfileName: pulumi.Input<string>;
    /** The zone the host's subnet is in (the instance is launched in its subnet's zone). */
    readonly availabilityZone: pulumi.Input<string>;
    readonly tags: Record<string, string>;
}

/**
 * Instance metadata: IMDSv2 only (session tokens, no plain GETs) and a PUT response hop limit of 1,
 * so the token answer cannot cross the host's NAT: microVMs cannot reach the role's credentials.
 */
export const metadataOptions = {
    httpEndpoint: "enabled",
    httpTokens: "required",
    httpPutResponseHopLimit: 1,
    instanceMetadataTags: "disabled",
} as const;

/**
 * How long Pulumi waits for EC2 itself (running / terminated). Metal instances take several
 * minutes to reach `running` and to terminate; the SSH wait for the OS to boot is the connection's
 * (components/deploy/connection.ts).
 */
export const instanceTimeouts = { create: "30m", update: "30m", delete: "40m" };

/**
 * The Graviton metal host: an EC2 key pair from the first operator key, a generated ED25519
 * bootstrap host key handed to NixOS through user data (so the first connection to a new machine
 * pins it; the host then makes its own, components/deploy/reachable.ts), the instance booted from
 * the NixOS AMI, and an Elastic IP.
 *
 * A new `instanceType` is applied in place: the provider stops the instance, modifies its type and
 * starts it (the same root disk, host key, address and volume; the VMs are down meanwhile). A new
 * pinned `ami` replaces the instance (the state volume is re-attached to the new one); a newer
 * official AMI does not (`ignoreChanges: ["ami"]` when unpinned). User data is read once at first boot and only ever holds the (stable) host key, so
 * its changes are ignored: an edit to it never stops a running host. The key pair is read once at
 * first boot too: a new first key makes a new key pair but never replaces the instance (`keyName`
 * ignored); a new host boots with it, while a replacement of this host boots with the key pair the
 * host was first created with (the engine reuses ignored inputs), so key pairs are never deleted
 * (`retainOnDelete`). NixOS manages every operator key after the first deploy.
 */
export class Host extends pulumi.ComponentResource {
    readonly instanceId: pulumi.Output<string>;
    /** The Elastic IP: survives stop/start. */
    readonly publicIp: pulumi.Output<string>;
    /** The address inside the VPC (the fleet's hosts reach each other on it). */
    readonly privateIp: pulumi.Output<string>;
    readonly availabilityZone: pulumi.Output<string>;
    /** The instance's type as EC2 reports it (changed in place: a stop and a start). */
    readonly instanceType: pulumi.Output<string>;
    /**
     * The bootstrap host key (OpenSSH line) user data gives the machine at its first boot: pinned
     * only until the host has made its own (`HostReachable.hostPublicKey`).
     */
    readonly bootstrapPublicKey: pulumi.Output<string>;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:aws:Host", name, {}, opts);

        // Never deleted in AWS: the instance ignores keyName, so a replacement is created with the
        // name the instance was first created with (lib/constraints/facts.ts
        // ignoreChangesSurviveReplacement); a rotated key pair must still exist for it. Only state
        // written with retainOnDelete is kept (retainOnDeleteIsTheOldStates): docs/aws.md says to
        // upgrade before rotating the first key.
        const keyPair = new aws.ec2.KeyPair(
            `${name}-admin`,
            { publicKey: args.firstBootKey, tags: args.tags },
            { parent: this, retainOnDelete: true },
        );

        const hostKey = new tls.PrivateKey(
            `${name}-host-key`,
            { algorithm: "ED25519" },
            {
                parent: this,
                additionalSecretOutputs: ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"],
            },
        );
        const hostPublicKey = hostKey.publicKeyOpenssh.apply((k) => k.trim());
        const userData = pulumi.secret(
            pulumi.all([hostPublicKey, hostKey.privateKeyOpenssh]).apply(([pub, priv]) => hostKeyUserData(pub, priv)),
        );

        const instance = new aws.ec2.Instance(
            `${name}-host`,
            {
                ami: hostAmi(args.ami, { parent: this }),
                instanceType: args.instanceType,
                // No availabilityZone and no associatePublicIpAddress: the subnet decides both at
                // launch (its zone; mapPublicIpOnLaunch false), and each forces a replacement while a
                // refresh reads them back (associatePublicIpAddress reads back true once the Elastic IP
                // is associated): lib/constraints/aws.ts.
                subnetId: args.subnetId,
                vpcSecurityGroupIds: args.securityGroupIds,
                iamInstanceProfile: args.instanceProfileName,
                keyName: keyPair.id, // a key pair's id is its name
                metadataOptions,
                rootBlockDevice: {
                    volumeType: "gp3",
                    volumeSize: args.rootVolumeGiB,
                    encrypted: true,
                    deleteOnTermination: true,
                    tags: { ...args.tags, Name: `${name}-root` },
                },
                userData,
                userDataReplaceOnChange: false,
                tags: { ...args.tags, Name: name },
            },
            {
                parent: this,
                // Read at first boot only: an edit must never replace a running host.
                ignoreChanges: [...(args.ami === undefined ? ["ami"] : []), "userData", "keyName"],
                additionalSecretOutputs: ["userData"],
                customTimeouts: instanceTimeouts,
            },
        );

        const eip = new aws.ec2.Eip(
            `${name}-ip`,
            { domain: "vpc", tags: { ...args.tags, Name: name } },
            { parent: this },
        );
        const association = new aws.ec2.EipAssociation(
            `${name}-ip`,
            { allocationId: eip.allocationId, instanceId: instance.id },
            { parent: this },
        );

        this.instanceId = instance.id;
        // Through the association, so whoever dials the address waits until it points at the host.
        this.publicIp = pulumi.all([eip.publicIp, association.id]).apply(([ip]) => ip);
        this.privateIp = instance.privateIp;
        this.availabilityZone = pulumi.output(args.availabilityZone);
        this.instanceType = instance.instanceType;
        this.bootstrapPublicKey = hostPublicKey;
        this.registerOutputs({
            instanceId: this.instanceId,
            publicIp: this.publicIp,
            availabilityZone: this.availabilityZone,
            instanceType: this.instanceType,
            bootstrapPublicKey: this.bootstrapPublicKey,
        });
    }
}
