/**
 * The review's security section: everything a change does to who and what can reach the hosts,
 * the slots and the tailnet. From the diff (security group rules, IAM, tailnet routes, tags and
 * policy, the first-boot key pair, new Tailscale auth keys, tailnet devices the stack lets go of)
 * and from the configs (who may log in as root, what each slot may reach, what it publishes).
 */
import { createHash } from "crypto";
import { hostResourceName } from "../../infra/program";
import { Egress } from "../../infra/config";
import { PlanDiff } from "./diff";
import { PlannedResource } from "./mockRuntime";
import { Plan } from "./run";

const SECURITY_TYPES: Record<string, string> = {
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "inbound",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "outbound",
    "aws:ec2/securityGroup:SecurityGroup": "security group",
    "aws:iam/role:Role": "IAM role",
    "aws:iam/rolePolicy:RolePolicy": "IAM policy",
    "aws:iam/instanceProfile:InstanceProfile": "IAM instance profile",
    "tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes": "tailnet routes",
    "tailscale:index/acl:Acl": "tailnet policy",
    "tailscale:index/deviceTags:DeviceTags": "tailnet tags",
    "aws:ec2/keyPair:KeyPair": "first-boot SSH key",
};

const TAILNET_KEY = "tailscale:index/tailnetKey:TailnetKey";
const DEVICE_KEY = "tailscale:index/deviceKey:DeviceKey";

/** An OpenSSH public key as `ssh-keygen -l` names it: type, SHA256 fingerprint, comment. */
export function keyFingerprint(line: string): string {
    const [type, blob, ...comment] = line.trim().split(/\s+/);
    const sha = createHash("sha256")
        .update(Buffer.from(blob ?? "", "base64"))
        .digest("base64")
        .replace(/=+$/, "");
    return `${type} SHA256:${sha}${comment.length > 0 ? ` (${comment.join(" ")})` : ""}`;
}

/** The host a resource belongs to, from its name (`microvm-<host>-...`; the main host's have no host part). */
function hostOfResource(plan: Plan, r: PlannedResource): string {
    const hosts = plan.config.hosts
        .map((h) => h.name)
        .sort((a, b) => hostResourceName(b).length - hostResourceName(a).length);
    return hosts.find((h) => r.name.startsWith(`${hostResourceName(h)}-`)) ?? plan.config.hosts[0]?.name ?? "main";
}

const hostLabel = (plan: Plan, host: string) => (plan.config.hosts.length > 1 ? `host ${host}` : "the host");

/** How open an egress policy is: none < an allowlist < the internet (the default). */
const openness = (e: Egress | undefined): number =>
    e === undefined || e.policy === "internet" ? 2 : e.policy === "allowlist" ? 1 : 0;
const egressText = (e: Egress | undefined): string =>
    e === undefined || e.policy === "internet"
        ? "the internet"
        : e.policy === "none"
          ? "nothing"
          : `an allowlist (${e.domains.join(", ")})`;

function egressChanges(old: Plan, next: Plan): string[] {
    const before = new Map(old.topology.slots.map((s) => [s.name, s]));
    const lines: string[] = [];
    for (const b of next.topology.slots) {
        const a = before.get(b.name);
        if (!a) {
            continue;
        }
        const [ea, eb] = [a.egress, b.egress];
        const key = `slots.${b.name}.egress`;
        if (openness(eb) > openness(ea)) {
            lines.push(`${b.name}: egress loosened, from ${egressText(ea)} to ${egressText(eb)} (${key})`);
        } else if (openness(eb) < openness(ea)) {
            lines.push(`${b.name}: egress tightened, from ${egressText(ea)} to ${egressText(eb)} (${key})`);
        } else if (ea?.policy === "allowlist" && eb?.policy === "allowlist") {
            const added = eb.domains.filter((d) => !ea.domains.includes(d));
            const removed = ea.domains.filter((d) => !eb.domains.includes(d));
            if (added.length > 0) {
                lines.push(
                    `${b.name}: egress loosened, the allowlist grows: ${added.map((d) => `+${d}`).join(", ")} (${key})`,
                );
            }
            if (removed.length > 0) {
                lines.push(
                    `${b.name}: egress tightened, the allowlist shrinks: ${removed.map((d) => `-${d}`).join(", ")} (${key})`,
                );
            }
        }
        const tailnetPorts = (s: typeof b) => s.publish.filter((p) => p.to === "tailnet").map((p) => p.port);
        for (const port of tailnetPorts(b).filter((p) => !tailnetPorts(a).includes(p))) {
            lines.push(`${b.name}: publishes port ${port} to the tailnet (slots.${b.name}.publish)`);
        }
    }
    return lines;
}

function rootLoginChanges(old: Plan, next: Plan): string[] {
    const a = old.config.host.sshPublicKeys.map(keyFingerprint);
    const b = next.config.host.sshPublicKeys.map(keyFingerprint);
    return [
        ...b
            .filter((k) => !a.includes(k))
            .map((k) => `root login: new key ${k}, for root and the admin user on every host (host.sshPublicKeys)`),
        ...a.filter((k) => !b.includes(k)).map((k) => `root login: key ${k} removed (host.sshPublicKeys)`),
    ];
}

/** New auth keys (each joins a machine to the tailnet) and devices the stack stops managing. */
function tailnetChanges(old: Plan, next: Plan, diff: PlanDiff): string[] {
    const find = (p: Plan, urn: string) => p.resources.find((r) => r.urn === urn);
    const lines: string[] = [];
    for (const c of [...diff.create, ...diff.replace].filter((x) => x.type === TAILNET_KEY)) {
        const r = find(next, c.urn)!;
        const tags = (r.inputs.tags as string[] | undefined) ?? [];
        lines.push(
            `new pre-authorized Tailscale auth key for ${hostLabel(next, hostOfResource(next, r))} (single use, tagged ${tags.join(", ")}): ` +
                "whoever reads it before the host joins can join the tailnet with those tags; it reaches the host only as a root-only file",
        );
    }
    // DeviceKey is retainOnDelete: deleted or replaced, the device itself stays in the tailnet.
    for (const c of [...diff.delete, ...diff.replace].filter((x) => x.type === DEVICE_KEY)) {
        const r = find(old, c.urn)!;
        const host = hostOfResource(old, r);
        const why = diff.replace.includes(c) ? "the machine it was is replaced" : "the stack no longer manages it";
        lines.push(
            `tailnet device of ${hostLabel(old, host)} left behind (${why}): it stays in the tailnet, tagged and with key expiry disabled, until you remove it in the admin console (Machines)`,
        );
    }
    return lines;
}

function resourceChanges(old: Plan, next: Plan, diff: PlanDiff): string[] {
    const find = (p: Plan, urn: string) => p.resources.find((r) => r.urn === urn);
    const describe = (r: PlannedResource | undefined) => String(r?.inputs.description ?? r?.name ?? "");
    const lines: string[] = [];
    const rule = (what: string, r: PlannedResource | undefined) => {
        const cidr = String(r?.inputs.cidrIpv4 ?? r?.inputs.cidrIpv6 ?? "");
        return `${what}: ${describe(r)}${cidr && !describe(r).includes(cidr) ? ` (${cidr})` : ""}`;
    };
    for (const c of diff.create.filter((x) => SECURITY_TYPES[x.type])) {
        const r = find(next, c.urn);
        lines.push(
            c.type.includes("securityGroup") && c.type.includes("Rule")
                ? rule(`opens ${SECURITY_TYPES[c.type]}`, r)
                : `new ${SECURITY_TYPES[c.type]}: ${r?.name}`,
        );
    }
    for (const c of diff.delete.filter((x) => SECURITY_TYPES[x.type])) {
        const r = find(old, c.urn);
        lines.push(
            c.type.includes("securityGroup") && c.type.includes("Rule")
                ? rule(`closes ${SECURITY_TYPES[c.type]}`, r)
                : `removed ${SECURITY_TYPES[c.type]}: ${r?.name}`,
        );
    }
    for (const c of [...diff.update, ...diff.replace].filter((x) => SECURITY_TYPES[x.type])) {
        const a = find(old, c.urn);
        const b = find(next, c.urn);
        if (c.type === "tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes") {
            const ra = (a?.inputs.routes as string[] | undefined) ?? [];
            const rb = (b?.inputs.routes as string[] | undefined) ?? [];
            const added = rb.filter((x) => !ra.includes(x)).map((x) => `+${x}`);
            const removed = ra.filter((x) => !rb.includes(x)).map((x) => `-${x}`);
            lines.push(`tailnet routes: ${[...added, ...removed].join(", ") || "re-approved on a new device"}`);
        } else {
            lines.push(`${SECURITY_TYPES[c.type]} ${b?.name} changes (${c.paths.join(", ")})`);
        }
    }
    return lines;
}

/** Every security-relevant effect of the change, one line each, sorted. */
export function securityChanges(old: Plan, next: Plan, diff: PlanDiff): string[] {
    return [
        ...resourceChanges(old, next, diff),
        ...rootLoginChanges(old, next),
        ...egressChanges(old, next),
        ...tailnetChanges(old, next, diff),
    ].sort();
}
