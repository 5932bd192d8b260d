/**
 * The host's security group rules, as data: the one place that decides what may reach the host
 * from the internet. Pure; `Network` turns each rule into a `vpc.SecurityGroupIngressRule` /
 * `EgressRule`.
 */
import { cidrProblem, networkOf, parseCidr, parseIpv4Cidr } from "../../lib/cidr";

/** Tailscale's WireGuard port: direct (peer-to-peer) connections instead of DERP relays. */
export const tailscaleUdpPort = 41641;
export const sshPort = 22;

export interface SecurityRule {
    /** Stable suffix for the resource name, derived from the rule's content. */
    readonly key: string;
    readonly direction: "ingress" | "egress";
    /** In EC2's character set for rule descriptions (lib/constraints/aws.ts: ec2DescriptionCharacters): no apostrophe. */
    readonly description: string;
    /** `tcp`, `udp` or `-1` (all). */
    readonly ipProtocol: string;
    readonly fromPort?: number;
    readonly toPort?: number;
    readonly cidrIpv4?: string;
    readonly cidrIpv6?: string;
    /** From the members of the same security group (the fleet's hosts), instead of a CIDR. */
    readonly fromSelf?: boolean;
}

function cidrKey(cidr: string): string {
    return cidr
        .toLowerCase()
        .replace(/[^0-9a-f]+/g, "-")
        .replace(/^-|-$/g, "");
}

/**
 * The CIDR as EC2 stores it (no host bits, IPv6 lower-case and compressed): what a refresh reads
 * back, so a user's `2001:DB8::/48` never shows as a change after a refresh. Checked CIDRs only.
 */
function cidrField(cidr: string): { cidrIpv4: string } | { cidrIpv6: string } {
    const canonical = networkOf(parseCidr(cidr)!);
    return parseIpv4Cidr(canonical) ? { cidrIpv4: canonical } : { cidrIpv6: canonical };
}

/** A slot's port published to the internet: the host's `hostPort` forwarded to the slot's VM. */
export interface PublishedHostPort {
    readonly slot: string;
    readonly hostPort: number;
    /** Who may connect (IPv4 CIDRs). */
    readonly sources: readonly string[];
}

function checkCidrs(what: string, cidrs: readonly string[]): void {
    cidrs.forEach((cidr, i) => {
        const problem = cidrProblem(cidr);
        if (problem) {
            throw new Error(`${what}[${i}] ${problem}`);
        }
    });
}

/**
 * The rules for a host whose SSH is open to `adminCidrs` only (none: no public SSH at all), with
 * Tailscale's UDP port open to the internet when the host joins a tailnet (WireGuard authenticates
 * every packet), each published port open to its sources only, and all egress. Throws on an
 * invalid CIDR, naming `adminCidrs[i]` or the published port's `sources[i]`.
 */
export function hostSecurityRules(
    adminCidrs: readonly string[],
    tailscale = true,
    published: readonly PublishedHostPort[] = [],
    fleet = false,
): SecurityRule[] {
    checkCidrs("adminCidrs", adminCidrs);
    for (const p of published) {
        checkCidrs(`published ${p.slot}:${p.hostPort} sources`, p.sources);
        if (p.hostPort === sshPort) {
            throw new Error(`published ${p.slot}:${p.hostPort}: port ${sshPort} is the host's SSH`);
        }
    }
    const publishedRules = published.flatMap((p) =>
        [...new Set(p.sources)].map((cidr): SecurityRule => ({
            key: `publish-${p.slot}-${p.hostPort}-${cidrKey(cidr)}`,
            direction: "ingress",
            description: `port ${p.hostPort} of ${p.slot} open to ${cidr} (slots.${p.slot}.publish)`,
            ipProtocol: "tcp",
            fromPort: p.hostPort,
            toPort: p.hostPort,
            ...cidrField(cidr),
        })),
    );
    const ssh = [...new Set(adminCidrs)].map((cidr): SecurityRule => ({
        key: `ssh-${cidrKey(cidr)}`,
        direction: "ingress",
        description: `SSH from ${cidr} (host.adminCidrs)`,
        ipProtocol: "tcp",
        fromPort: sshPort,
        toPort: sshPort,
        ...cidrField(cidr),
    }));
    const tailscaleRules: SecurityRule[] = !tailscale
        ? []
        : [
              {
                  key: "tailscale-udp",
                  direction: "ingress",
                  description: "Tailscale direct connections (WireGuard, authenticated per packet)",
                  ipProtocol: "udp",
                  fromPort: tailscaleUdpPort,
                  toPort: tailscaleUdpPort,
                  cidrIpv4: "0.0.0.0/0",
              },
          ];
    const fleetRules: SecurityRule[] = !fleet
        ? []
        : [
              {
                  key: "fleet-ssh",
                  direction: "ingress",
                  description:
                      "SSH between the hosts of the fleet (state moves and replicas, with the fleet transfer key)",
                  ipProtocol: "tcp",
                  fromPort: sshPort,
                  toPort: sshPort,
                  fromSelf: true,
              },
          ];
    return [
        ...ssh,
        ...tailscaleRules,
        ...publishedRules,
        ...fleetRules,
        {
            key: "all-egress",
            direction: "egress",
            description: "All outbound: Nix caches, Tailscale, AWS APIs, NAT for the slots",
            ipProtocol: "-1",
            cidrIpv4: "0.0.0.0/0",
        },
    ];
}
