/**
 * Which NixOS image the host boots: the newest official NixOS AMI for the release the flake
 * targets, or a pinned id checked to be arm64.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { shown } from "../../lib/redact";

/** The AWS account the NixOS project publishes its AMIs from (https://nixos.github.io/amis). */
export const nixosAmiOwner = "427812963091";
/** The release `nixos/flake.nix` pins (nixos-26.05); the image only has to boot and run the deploy. */
export const nixosRelease = "26.05";
/** Graviton: the image must be built for arm64 (aarch64-linux). */
export const hostArchitecture = "arm64";

export interface AmiLookup {
    readonly owners: string[];
    readonly mostRecent: boolean;
    readonly filters: { name: string; values: string[] }[];
}

/** The `ec2:DescribeImages` query for the newest official NixOS arm64 image of `release`. */
export function nixosAmiLookup(release: string = nixosRelease): AmiLookup {
    return {
        owners: [nixosAmiOwner],
        mostRecent: true,
        filters: [
            { name: "name", values: [`nixos/${release}*-aarch64-linux`] },
            { name: "architecture", values: [hostArchitecture] },
            { name: "state", values: ["available"] },
            { name: "root-device-type", values: ["ebs"] },
            { name: "virtualization-type", values: ["hvm"] },
        ],
    };
}

/** Why the pinned `host.ami` cannot boot a Graviton host, or undefined. Pure; exported for testing. */
export function pinnedAmiProblem(ami: string, architecture: string, name: string): string | undefined {
    if (architecture === hostArchitecture) {
        return undefined;
    }
    return `host.ami ${shown(ami)} (${name}) is built for ${architecture}, but a Graviton host needs an ${hostArchitecture} image; pin an aarch64-linux NixOS AMI or unset host.ami to use the newest official one`;
}

/**
 * The AMI id for the host: the pinned one (after checking its architecture) or the newest
 * official NixOS arm64 image.
 */
export function hostAmi(pinned: string | undefined, opts?: pulumi.InvokeOutputOptions): pulumi.Output<string> {
    if (pinned !== undefined) {
        return aws.ec2.getAmiOutput({ filters: [{ name: "image-id", values: [pinned] }] }, opts).apply((image) => {
            const problem = pinnedAmiProblem(pinned, image.architecture, image.name);
            if (problem) {
                throw new Error(problem);
            }
            return pinned;
        });
    }
    return aws.ec2.getAmiOutput(nixosAmiLookup(), opts).apply((image) => image.id);
}
