import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cidrProblem, ipv4CidrContains, ipv4CidrsOverlap, parseIpv4Cidr } from "../../lib/cidr";
import { shown } from "../../lib/redact";
import { constraint, rule } from "../../lib/constraints";
import { hostSecurityRules, PublishedHostPort } from "./firewall";

export interface NetworkArgs {
    /** The VPC's CIDR; must not overlap the slots' 10.N.0.0/24 subnets (10.0.0.0/8). */
    readonly vpcCidr: string;
    /** The host's public subnet, inside `vpcCidr`. */
    readonly subnetCidr: string;
    /**
     * Where the subnet (and so the host and its state volume) lives, when it is created: a subnet
     * keeps its zone afterwards whatever this says (`ignoreChanges`; see `subnetZone`).
     */
    readonly availabilityZone: pulumi.Input<string>;
    /** CIDRs allowed to reach SSH on the public address. Empty means no public SSH at all. */
    readonly adminCidrs: readonly string[];
    /** Open Tailscale's UDP port for direct connections (tailscale.enabled). */
    readonly tailscale: boolean;
    /** Slots' ports published to the internet: each host port open to its sources only. Defaults to none. */
    readonly published?: readonly PublishedHostPort[];
    /**
     * More hosts' own subnets (a fleet): `key` names the subnet (`<name>-public-<key>`). With any,
     * the hosts may SSH to each other (the fleet's transfers). Defaults to none.
     */
    readonly moreSubnets?: readonly {
        readonly key: string;
        readonly cidr: string;
        readonly availabilityZone: pulumi.Input<string>;
    }[];
    readonly tags: Record<string, string>;
}

/** Where the slots live (10.N.0.0/24) and where Tailscale addresses its devices (CGNAT). */
export const reservedRanges: readonly { readonly cidr: string; readonly why: string }[] = [
    { cidr: "10.0.0.0/8", why: "where the slots' 10.N.0.0/24 subnets live" },
    { cidr: "100.64.0.0/10", why: "Tailscale's address range (CGNAT), where tailnet devices live" },
];

/** The prefix lengths AWS accepts for a VPC's and a subnet's IPv4 block (lib/constraints/aws.ts). */
export const vpcPrefixes = rule(constraint("aws:ec2/vpc:Vpc", "cidrBlock"), "cidr").prefix!;
export const subnetPrefixes = rule(constraint("aws:ec2/subnet:Subnet", "cidrBlock"), "cidr").prefix!;

/** Why `subnetCidr` is not a subnet AWS creates (its size), or undefined. */
export function subnetSizeProblem(subnetCidr: string): string | undefined {
    const subnet = parseIpv4Cidr(subnetCidr);
    if (!subnet || (subnet.prefix >= subnetPrefixes[0] && subnet.prefix <= subnetPrefixes[1])) {
        return undefined;
    }
    return `must have a prefix from /${subnetPrefixes[0]} to /${subnetPrefixes[1]} (AWS's subnet sizes: at least 16 addresses, of which AWS keeps 5), got ${shown(subnetCidr)}`;
}

export const defaultVpcCidr = "172.20.0.0/16";
export const defaultSubnetCidr = "172.20.1.0/24";

/**
 * What is wrong with the network CIDRs, per argument (`vpcCidr`, `subnetCidr`); empty when they
 * are usable. The one place these rules live: the stack config reports them under `network.`.
 */
export function networkCidrProblems(
    vpcCidr: string,
    subnetCidr: string,
): { arg: "vpcCidr" | "subnetCidr"; message: string }[] {
    const problems: { arg: "vpcCidr" | "subnetCidr"; message: string }[] = [];
    const vpc = parseIpv4Cidr(vpcCidr);
    const subnet = parseIpv4Cidr(subnetCidr);
    if (!vpc || vpc.prefix < vpcPrefixes[0] || vpc.prefix > vpcPrefixes[1]) {
        const why =
            cidrProblem(vpcCidr, 4) ??
            `must have a prefix from /${vpcPrefixes[0]} to /${vpcPrefixes[1]} (AWS's VPC sizes), got ${shown(vpcCidr)}`;
        problems.push({ arg: "vpcCidr", message: why });
    } else {
        for (const range of reservedRanges) {
            if (ipv4CidrsOverlap(vpc, parseIpv4Cidr(range.cidr)!)) {
                problems.push({
                    arg: "vpcCidr",
                    message: `must not overlap ${range.cidr}, ${range.why}, got ${shown(vpcCidr)}`,
                });
            }
        }
    }
    if (!subnet) {
        problems.push({
            arg: "subnetCidr",
            message: cidrProblem(subnetCidr, 4) ?? `must be an IPv4 CIDR, got ${shown(subnetCidr)}`,
        });
    } else if (subnetSizeProblem(subnetCidr)) {
        problems.push({ arg: "subnetCidr", message: subnetSizeProblem(subnetCidr)! });
    } else if (vpc && !ipv4CidrContains(vpc, subnet)) {
        problems.push({ arg: "subnetCidr", message: `must lie inside vpcCidr (${vpcCidr}), got ${shown(subnetCidr)}` });
    }
    return problems;
}

/**
 * A dedicated VPC with one public subnet in the host's availability zone, an internet gateway and
 * default route, and the host's security group (rules from `hostSecurityRules`).
 */
export class Network extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly subnetId: pulumi.Output<string>;
    /** The zone the subnet is in, as AWS reports it: where its host and state volume are. */
    readonly subnetZone: pulumi.Output<string>;
    /** `moreSubnets`' ids by key. */
    readonly moreSubnetIds: Record<string, pulumi.Output<string>>;
    /** `moreSubnets`' zones by key. */
    readonly moreSubnetZones: Record<string, pulumi.Output<string>>;
    readonly securityGroupId: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:aws:Network", name, {}, opts);
        const problems = networkCidrProblems(args.vpcCidr, args.subnetCidr);
        if (problems.length > 0) {
            throw new Error(`Network ${name}: ${problems.map((p) => `${p.arg} ${p.message}`).join("; ")}`);
        }
        const more = args.moreSubnets ?? [];
        for (const m of more) {
            const bad = networkCidrProblems(args.vpcCidr, m.cidr).filter((x) => x.arg === "subnetCidr");
            if (bad.length > 0) {
                throw new Error(`Network ${name}: moreSubnets ${m.key}: ${bad[0].message}`);
            }
        }
        const rules = hostSecurityRules(args.adminCidrs, args.tailscale, args.published ?? [], more.length > 0);
        const tagged = (suffix: string) => ({ ...args.tags, Name: `${name}-${suffix}` });
        // Once created, a subnet stays in its zone: the zone is looked up on every run, and AWS may
        // offer a type in another zone first later (the subnet, the instance and the volume would
        // all be replaced). The engine keeps the old value of an ignored path (lib/constraints/facts.ts).
        const keepZone = { parent: this, ignoreChanges: ["availabilityZone"] };

        const vpc = new aws.ec2.Vpc(
            `${name}-vpc`,
            {
                cidrBlock: args.vpcCidr,
                enableDnsSupport: true,
                enableDnsHostnames: true,
                tags: tagged("vpc"),
            },
            { parent: this },
        );
        const subnet = new aws.ec2.Subnet(
            `${name}-public`,
            {
                vpcId: vpc.id,
                cidrBlock: args.subnetCidr,
                availabilityZone: args.availabilityZone,
                // The host gets an Elastic IP; nothing else should get a public address by accident.
                mapPublicIpOnLaunch: false,
                tags: tagged("public"),
            },
            keepZone,
        );
        const gateway = new aws.ec2.InternetGateway(
            `${name}-igw`,
            { vpcId: vpc.id, tags: tagged("igw") },
            { parent: this },
        );
        const routes = new aws.ec2.RouteTable(
            `${name}-public`,
            { vpcId: vpc.id, tags: tagged("public") },
            { parent: this },
        );
        new aws.ec2.Route(
            `${name}-default`,
            {
                routeTableId: routes.id,
                destinationCidrBlock: "0.0.0.0/0",
                gatewayId: gateway.id,
            },
            { parent: this },
        );
        new aws.ec2.RouteTableAssociation(
            `${name}-public`,
            { subnetId: subnet.id, routeTableId: routes.id },
            { parent: this },
        );
        this.moreSubnetIds = {};
        this.moreSubnetZones = {};
        for (const m of more) {
            const extra = new aws.ec2.Subnet(
                `${name}-public-${m.key}`,
                {
                    vpcId: vpc.id,
                    cidrBlock: m.cidr,
                    availabilityZone: m.availabilityZone,
                    mapPublicIpOnLaunch: false,
                    tags: tagged(`public-${m.key}`),
                },
                keepZone,
            );
            new aws.ec2.RouteTableAssociation(
                `${name}-public-${m.key}`,
                { subnetId: extra.id, routeTableId: routes.id },
                { parent: this },
            );
            this.moreSubnetIds[m.key] = extra.id;
            this.moreSubnetZones[m.key] = extra.availabilityZone;
        }

        const group = new aws.ec2.SecurityGroup(
            `${name}-host`,
            {
                vpcId: vpc.id,
                description: "microvm-infra host: SSH from host.adminCidrs only, Tailscale UDP, all egress",
                tags: tagged("host"),
            },
            { parent: this },
        );
        for (const rule of rules) {
            const ruleArgs = {
                securityGroupId: group.id,
                description: rule.description,
                ipProtocol: rule.ipProtocol,
                fromPort: rule.fromPort,
                toPort: rule.toPort,
                cidrIpv4: rule.cidrIpv4,
                cidrIpv6: rule.cidrIpv6,
                referencedSecurityGroupId: rule.fromSelf ? group.id : undefined,
                tags: tagged(rule.key),
            };
            if (rule.direction === "ingress") {
                new aws.vpc.SecurityGroupIngressRule(`${name}-${rule.key}`, ruleArgs, { parent: this });
            } else {
                new aws.vpc.SecurityGroupEgressRule(`${name}-${rule.key}`, ruleArgs, { parent: this });
            }
        }

        this.vpcId = vpc.id;
        this.subnetId = subnet.id;
        this.subnetZone = subnet.availabilityZone;
        this.securityGroupId = group.id;
        this.registerOutputs({ vpcId: this.vpcId, subnetId: this.subnetId, securityGroupId: this.securityGroupId });
    }
}
