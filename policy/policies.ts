/**
 * The invariants every stack of this project keeps, as Pulumi resource policies: `pulumi preview
 * --policy-pack policy` (and `pulumi up`) stops on a violation (every policy is mandatory).
 *
 * Each policy is a thin wrapper over an exported pure function that returns the problems as
 * sentences (empty when the resource keeps the rule), so the offline tests and the pack share one
 * rule. Rules that already exist in the program are reused, not written again: the IAM rule is
 * `policyProblems` (components/aws/policies.ts), the world CIDR is `isWorldCidr` (lib/cidr.ts),
 * the SSH port is the firewall's.
 *
 * What a policy cannot see (policy/README.md): `retainOnDelete` is not among the resource options
 * the engine sends to policies, so `stateVolumeProblems` checks it only where it is known (the
 * offline plan); and whether an input is a secret is recovered by `./secrets` (the SDK drops it).
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { sshPort } from "../components/aws/firewall";
import { PolicyDocument, policyProblems, stateVolumeTagKey } from "../components/aws/policies";
import { isWorldCidr } from "../lib/cidr";
import { inputsSeen, installSecretPathHook, isUnderSecret } from "./secrets";

installSecretPathHook();

export const packName = "microvm-infra";

export const types = {
    instance: "aws:ec2/instance:Instance",
    volume: "aws:ebs/volume:Volume",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    tailnetKey: "tailscale:index/tailnetKey:TailnetKey",
    tailscaleProvider: "pulumi:providers:tailscale",
} as const;

/** Resource types holding an IAM permission policy document in `policy`. */
const iamPolicyDocumentTypes = [
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
];
/** Resource types attaching a managed policy by ARN in `policyArn`. */
const iamAttachmentTypes = [
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
];

// A resource's inputs as @pulumi/policy hands them over (its own type is `any`).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Props = Record<string, any>;

const list = <T>(v: T | readonly T[] | undefined | null): readonly T[] =>
    v === undefined || v === null ? [] : Array.isArray(v) ? v : [v as T];

// ---------------------------------------------------------------------------------------------
// Encrypted volumes

/** Every EBS volume encrypted: an instance's root and extra block devices, and EBS volumes. */
export function encryptionProblems(type: string, props: Props): string[] {
    if (type === types.volume) {
        return props.encrypted === true ? [] : ["the EBS volume must be encrypted (encrypted: true)"];
    }
    if (type === types.instance) {
        const problems: string[] = [];
        if (props.rootBlockDevice?.encrypted !== true) {
            problems.push("the root volume must be encrypted (rootBlockDevice.encrypted: true)");
        }
        list<Props>(props.ebsBlockDevices).forEach((d, i) => {
            if (d.encrypted !== true) {
                problems.push(
                    `ebsBlockDevices[${i}] (${d.deviceName ?? "no device name"}) must be encrypted (encrypted: true)`,
                );
            }
        });
        return problems;
    }
    return [];
}

// ---------------------------------------------------------------------------------------------
// IMDSv2 with hop limit 1

/**
 * Instance metadata through session tokens only, and a PUT response hop limit of 1 so the token
 * cannot cross the host's NAT: the microVMs must never reach the role's credentials.
 */
export function metadataProblems(props: Props): string[] {
    const m: Props = props.metadataOptions ?? {};
    const problems: string[] = [];
    if (m.httpTokens !== "required") {
        problems.push(
            `metadataOptions.httpTokens must be "required" (IMDSv2 only), got ${JSON.stringify(m.httpTokens ?? null)}`,
        );
    }
    if (m.httpPutResponseHopLimit !== 1) {
        problems.push(
            `metadataOptions.httpPutResponseHopLimit must be 1 (the microVMs behind the host's NAT must not reach instance metadata), got ${JSON.stringify(m.httpPutResponseHopLimit ?? null)}`,
        );
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// No SSH from the world

export interface SshPolicyConfig {
    /** The stack opted in with `host.allowSshFromAnywhere: true` and says so here. Defaults to false. */
    readonly allowSshFromAnywhere?: boolean;
}

interface Ingress {
    readonly protocol: string;
    readonly fromPort?: number;
    readonly toPort?: number;
    readonly cidrs: readonly string[];
    readonly where: string;
}

/** The ingress rules a resource declares, whichever of the three AWS shapes it uses. */
function ingressRules(type: string, props: Props): Ingress[] {
    if (type === types.ingressRule) {
        return [
            {
                protocol: String(props.ipProtocol),
                fromPort: props.fromPort,
                toPort: props.toPort,
                cidrs: [props.cidrIpv4, props.cidrIpv6].filter((c) => typeof c === "string"),
                where: "the rule",
            },
        ];
    }
    if (type === types.securityGroupRule && props.type === "ingress") {
        return [
            {
                protocol: String(props.protocol),
                fromPort: props.fromPort,
                toPort: props.toPort,
                cidrs: [...list<string>(props.cidrBlocks), ...list<string>(props.ipv6CidrBlocks)],
                where: "the rule",
            },
        ];
    }
    if (type === types.securityGroup) {
        return list<Props>(props.ingress).map((r, i) => ({
            protocol: String(r.protocol),
            fromPort: r.fromPort,
            toPort: r.toPort,
            cidrs: [...list<string>(r.cidrBlocks), ...list<string>(r.ipv6CidrBlocks)],
            where: `ingress[${i}]`,
        }));
    }
    return [];
}

/** True when a rule with this protocol and port range lets TCP port 22 in. */
export function reachesSsh(protocol: string, fromPort?: number, toPort?: number): boolean {
    const p = protocol.toLowerCase();
    if (p === "-1" || p === "all") {
        return true; // every protocol, every port
    }
    if (p !== "tcp" && p !== "6") {
        return false;
    }
    // A TCP rule without ports (or with -1) covers every port.
    const from = fromPort === undefined || fromPort < 0 ? 0 : fromPort;
    const to = toPort === undefined || toPort < 0 ? 65535 : toPort;
    return from <= sshPort && sshPort <= to;
}

export function sshFromAnywhereProblems(type: string, props: Props, config: SshPolicyConfig = {}): string[] {
    if (config.allowSshFromAnywhere === true) {
        return [];
    }
    return ingressRules(type, props).flatMap((r) =>
        r.cidrs
            .filter(isWorldCidr)
            .filter(() => reachesSsh(r.protocol, r.fromPort, r.toPort))
            .map((cidr) => {
                const what =
                    r.protocol === "-1" || r.protocol.toLowerCase() === "all"
                        ? "every protocol and port"
                        : `TCP ${r.fromPort ?? 0}-${r.toPort ?? 65535}`;
                return `${r.where} opens SSH (${what}) to ${cidr}, the whole internet: allow the CIDRs you deploy from (host.adminCidrs) or reach the host over the tailnet; a stack that opted in with host.allowSshFromAnywhere must say so in its policy config (allowSshFromAnywhere: true)`;
            }),
    );
}

// ---------------------------------------------------------------------------------------------
// The state volume kept

export interface StateVolumeView {
    readonly protect: boolean;
    /** Not sent to policies by the engine: undefined there, known in the offline plan. */
    readonly retainOnDelete?: boolean;
    readonly props: Props;
}

/**
 * The volume holding the VMs' states outlives the stack: `protect` (a `pulumi up` or `destroy`
 * that would delete it stops instead), `retainOnDelete` (even once unprotected, Pulumi only
 * forgets it) and `finalSnapshot` (if it is deleted after all, AWS snapshots it first). Every EBS
 * volume of this project is a state volume (tagged `microvm-infra:state-volume`).
 */
export function stateVolumeProblems(v: StateVolumeView): string[] {
    const problems: string[] = [];
    if (!v.protect) {
        problems.push(
            "the state volume must be protected (resource option protect: true): deleting it deletes every VM state",
        );
    }
    if (v.retainOnDelete === false) {
        problems.push("the state volume must be retained on delete (resource option retainOnDelete: true)");
    }
    if (v.props.finalSnapshot !== true) {
        problems.push("the state volume must take a final snapshot if it is ever deleted (finalSnapshot: true)");
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// IAM: no wildcard actions, no unconditioned mutating EC2 action on "*"

/** AWS-managed policies that grant every action of a service (or of all of them). */
export function isBroadManagedPolicy(arn: string): boolean {
    const m = /^arn:[^:]+:iam::aws:policy\/(?:.*\/)?([^/]+)$/.exec(arn);
    return m !== null && (m[1] === "AdministratorAccess" || m[1] === "PowerUserAccess" || m[1].endsWith("FullAccess"));
}

function parseDocument(doc: unknown, what: string): { doc?: PolicyDocument; problem?: string } {
    let value = doc;
    if (typeof doc === "string") {
        try {
            value = JSON.parse(doc);
        } catch {
            return { problem: `${what} is not JSON, so it cannot be checked` };
        }
    }
    if (typeof value !== "object" || value === null) {
        return { problem: `${what} is not a policy document` };
    }
    const d = value as { Version?: string; Statement?: unknown };
    return { doc: { ...d, Statement: list(d.Statement) } as PolicyDocument };
}

export function iamProblems(type: string, props: Props): string[] {
    const check = (doc: unknown, what: string): string[] => {
        const parsed = parseDocument(doc, what);
        return parsed.problem ? [parsed.problem] : policyProblems(parsed.doc!).map((p) => `${what}: ${p}`);
    };
    if (iamPolicyDocumentTypes.includes(type)) {
        return check(props.policy, "policy");
    }
    if (type === "aws:iam/role:Role") {
        return [
            ...list<Props>(props.inlinePolicies).flatMap((p, i) =>
                p.policy === undefined ? [] : check(p.policy, `inlinePolicies[${i}] (${p.name ?? "unnamed"})`),
            ),
            ...list<string>(props.managedPolicyArns)
                .filter(isBroadManagedPolicy)
                .map((arn) => `managedPolicyArns: ${arn} grants every action of a service`),
        ];
    }
    if (
        iamAttachmentTypes.includes(type) &&
        typeof props.policyArn === "string" &&
        isBroadManagedPolicy(props.policyArn)
    ) {
        return [`policyArn: ${props.policyArn} grants every action of a service`];
    }
    return [];
}

// ---------------------------------------------------------------------------------------------
// Secrets only as secrets

/** Text that is secret wherever it appears. */
export const secretPatterns: readonly { readonly what: string; readonly re: RegExp }[] = [
    { what: "a private key", re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/ },
    { what: "a Tailscale key", re: /\btskey-[a-z]+-[A-Za-z0-9]{6,}/ },
];

/** Inputs that hold credentials whatever they look like (path relative to the resource). */
const credentialPaths: Record<string, readonly string[]> = {
    "command:remote:Command": [
        "connection.password",
        "connection.privateKey",
        "connection.privateKeyPassword",
        "connection.proxy.password",
        "connection.proxy.privateKey",
        "connection.proxy.privateKeyPassword",
    ],
    "command:remote:CopyToRemote": [
        "connection.password",
        "connection.privateKey",
        "connection.privateKeyPassword",
        "connection.proxy.password",
        "connection.proxy.privateKey",
        "connection.proxy.privateKeyPassword",
    ],
    "command:remote:CopyFile": ["connection.password", "connection.privateKey", "connection.privateKeyPassword"],
    [types.tailscaleProvider]: ["apiKey", "oauthClientSecret"],
};

function strings(value: unknown, path: string, out: [string, string][] = []): [string, string][] {
    if (typeof value === "string") {
        out.push([path, value]);
    } else if (Array.isArray(value)) {
        value.forEach((v, i) => strings(v, `${path}[${i}]`, out));
    } else if (typeof value === "object" && value !== null) {
        for (const [k, v] of Object.entries(value)) {
            strings(v, path ? `${path}.${k}` : k, out);
        }
    }
    return out;
}

function at(value: unknown, path: string): unknown {
    return path
        .split(".")
        .reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Props)[k] : undefined), value);
}

/**
 * The SDK's sentinels for unknown values (`pulumi preview` of a new resource): not secret material
 * yet; `pulumi up` runs the policies again on the known values.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const policyProxy = require("@pulumi/policy/proxy") as Record<string, unknown>;
const unknownSentinels = new Set(
    Object.entries(policyProxy)
        .filter(([k, v]) => /^unknown[A-Z][A-Za-z]*Value$/.test(k) && typeof v === "string")
        .map(([, v]) => v as string),
);

/**
 * Secret material in a plain (non-secret) input: text that looks like a private key or a Tailscale
 * key (also inside base64 `userDataBase64`), or a credential field of a connection or provider. A
 * value under a secret path is fine: it is encrypted in state and hidden in previews.
 */
export function plainSecretProblems(type: string, raw: Props, secretPaths: readonly string[]): string[] {
    const problems: string[] = [];
    const plain = strings(raw, "").filter(([path, v]) => !isUnderSecret(path, secretPaths) && !unknownSentinels.has(v));
    for (const [path, value] of plain) {
        const texts = [value, ...(path === "userDataBase64" ? [Buffer.from(value, "base64").toString("latin1")] : [])];
        const found = secretPatterns.filter((p) => texts.some((t) => p.re.test(t)));
        for (const p of found) {
            problems.push(
                `${path} holds ${p.what} as plain text: pass it as a secret (pulumi.secret, config --secret) so it is encrypted in the state and hidden in previews`,
            );
        }
    }
    for (const path of credentialPaths[type] ?? []) {
        const v = at(raw, path);
        if (
            typeof v === "string" &&
            v !== "" &&
            !unknownSentinels.has(v) &&
            !isUnderSecret(path, secretPaths) &&
            !problems.some((p) => p.startsWith(`${path} `))
        ) {
            problems.push(
                `${path} is a credential given as plain text: pass it as a secret (pulumi.secret, config --secret)`,
            );
        }
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// Tailscale keys: single use, not ephemeral

export function tailnetKeyProblems(props: Props): string[] {
    const problems: string[] = [];
    if (props.reusable === true) {
        problems.push(
            "the auth key must be single-use (reusable: false): a leaked reusable key joins any number of machines as the host's tag",
        );
    }
    if (props.ephemeral === true) {
        problems.push(
            "the auth key must not be ephemeral (ephemeral: false): an ephemeral subnet router vanishes from the tailnet, with its approved routes, whenever it goes offline",
        );
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// The policies

function reportAll(problems: readonly string[], report: ReportViolation): void {
    for (const p of problems) {
        report(p);
    }
}

function forTypes(typesToCheck: readonly string[], check: (args: ResourceValidationArgs) => string[]) {
    return (args: ResourceValidationArgs, report: ReportViolation): void => {
        if (typesToCheck.includes(args.type)) {
            reportAll(check(args), report);
        }
    };
}

export const policies: ResourceValidationPolicy[] = [
    {
        name: "encrypted-volumes",
        description:
            "Every EBS volume is encrypted: the host's root volume, any extra block device and the state volume.",
        enforcementLevel: "mandatory",
        severity: "high",
        validateResource: forTypes([types.instance, types.volume], (a) => encryptionProblems(a.type, a.props)),
    },
    {
        name: "imdsv2-hop-limit-1",
        description:
            "Instances answer metadata only through IMDSv2 session tokens, with a PUT response hop limit of 1, so the microVMs behind the host's NAT cannot reach the role's credentials.",
        enforcementLevel: "mandatory",
        severity: "high",
        validateResource: forTypes([types.instance], (a) => metadataProblems(a.props)),
    },
    {
        name: "no-ssh-from-anywhere",
        description:
            "No security group lets SSH (TCP 22, a range holding it, or every protocol) in from 0.0.0.0/0 or ::/0, unless the stack's policy config says it opted in (allowSshFromAnywhere: true, with host.allowSshFromAnywhere in the stack config).",
        enforcementLevel: "mandatory",
        severity: "critical",
        configSchema: {
            properties: {
                allowSshFromAnywhere: {
                    type: "boolean",
                    default: false,
                    description:
                        "The stack sets host.allowSshFromAnywhere: true and accepts SSH from the whole internet.",
                },
            },
        },
        validateResource: forTypes([types.ingressRule, types.securityGroupRule, types.securityGroup], (a) =>
            sshFromAnywhereProblems(a.type, a.props, a.getConfig<SshPolicyConfig>()),
        ),
    },
    {
        name: "state-volume-kept",
        description: `The state volume (every EBS volume; tagged ${stateVolumeTagKey}) is protected and takes a final snapshot; it is also retainOnDelete, which the engine does not show to policies and the offline tests check.`,
        enforcementLevel: "mandatory",
        severity: "critical",
        validateResource: forTypes([types.volume], (a) =>
            stateVolumeProblems({ protect: a.opts.protect, props: a.props }),
        ),
    },
    {
        name: "iam-least-privilege",
        description:
            'No IAM policy grants a wildcard action ("*" or "service:*", or an AWS-managed *FullAccess/Administrator policy), and no mutating EC2 action is allowed on Resource "*" without a condition (components/aws/policies.ts).',
        enforcementLevel: "mandatory",
        severity: "high",
        validateResource: forTypes([...iamPolicyDocumentTypes, ...iamAttachmentTypes, "aws:iam/role:Role"], (a) =>
            iamProblems(a.type, a.props),
        ),
    },
    {
        name: "secrets-only-as-secrets",
        description:
            "Secret material (a private key, a Tailscale key, a connection's or provider's credentials) is only ever an input as a secret: the host key in user-data, the auth key on a command's stdin.",
        enforcementLevel: "mandatory",
        severity: "critical",
        validateResource: (args, report) => {
            const info = inputsSeen(args.props);
            if (info === undefined) {
                report(
                    "cannot tell which inputs are secret: the pack's hook into @pulumi/policy's deserializer did not run (was @pulumi/policy upgraded? see policy/secrets.ts)",
                );
                return;
            }
            reportAll(plainSecretProblems(args.type, info.raw, info.secretPaths), report);
        },
    },
    {
        name: "tailscale-key-single-use",
        description: "No Tailscale auth key is reusable or ephemeral.",
        enforcementLevel: "mandatory",
        severity: "high",
        validateResource: forTypes([types.tailnetKey], (a) => tailnetKeyProblems(a.props)),
    },
];
