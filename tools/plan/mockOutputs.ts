/**
 * What the mock runtime answers in place of AWS, Tailscale and the host: the outputs a real
 * provider would compute, as clearly labelled placeholders. One entry per resource type or
 * function the program uses; the tests and `npm run plan` share them.
 */
import { createHash } from "crypto";

export const placeholder = (what: string): string => `[placeholder: ${what}]`;

/**
 * A small number that tells resources of different hosts apart (0 for the main host's, whose
 * placeholders stay what they always were), so a plan of a fleet never shows two hosts alike.
 */
export function hostOrdinal(name: string): number {
    const host = /^microvm-(.+)-(host|ip|state|host-key|ssh-ready)$/.exec(name)?.[1];
    return host === undefined ? 0 : [...host].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 250, 7) + 1;
}

type Props = Record<string, any>;

/** What the mock runtime knows about the stack it plans: its `aws:region` (us-east-1 when unset). */
export interface StackContext {
    readonly region: string;
}

/** Remote commands whose stdout the program parses, by name suffix: a placeholder in the real format. */
export const remoteCommandStdout: Record<string, string> = {
    // `tailscale status --json --peers=false` once the host has joined (components/tailscale/status.ts).
    "-tailscale-status": JSON.stringify(
        {
            BackendState: "Running",
            Self: {
                ID: "nPlaceholder1CNTRL",
                HostName: "microvm-host",
                DNSName: "microvm-host.placeholder.ts.net.",
                TailscaleIPs: ["100.64.0.1"],
                Tags: ["tag:microvm-host"],
            },
        },
        null,
        2,
    ),
};
const remoteStdout = (name: string): string | undefined =>
    Object.entries(remoteCommandStdout).find(([suffix]) => name.endsWith(suffix))?.[1];

/** A stand-in address: the 10th of the subnet the instance is in (the main host's: 172.20.1.10). */
function privateIpIn(subnet: Props | undefined): string {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/\d+$/.exec(String(subnet?.cidrBlock ?? ""));
    return m ? `${m[1]}.${m[2]}.${m[3]}.${Number(m[4]) + 10}` : "172.20.1.10";
}

/** An ed25519 public key line holding KEY (32 bytes), in OpenSSH's wire format. */
function ed25519Line(key: Buffer): string {
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    return `ssh-ed25519 ${Buffer.concat([field(Buffer.from("ssh-ed25519")), field(key)]).toString("base64")} placeholder-host-key\n`;
}

/**
 * A stand-in ed25519 public key per key name: the main host's (`microvm-host-key`) is all zeros, as
 * it always was; every other name's key bytes are the sha256 of the name, so two hosts (or a host
 * and the fleet's transfer key) never share one whatever they are called, and the rendered fleet
 * passes the host's check that each host has its own key.
 */
function placeholderKey(name: string): string {
    return ed25519Line(name === "microvm-host-key" ? Buffer.alloc(32) : createHash("sha256").update(name).digest());
}

/**
 * Local commands whose stdout the program parses, by name suffix. `-ssh-ready` prints the host
 * key the host serves once reached (components/deploy/reachable.ts): made on the host, so not the
 * bootstrap key of user data (the tls key of the same host).
 */
export const localCommandStdout: Record<string, (name: string) => string> = {
    // The key the host makes itself after the first contact: its own per resource name, never the bootstrap key.
    "-ssh-ready": (n) => `${placeholderKey(n).split(" ").slice(0, 2).join(" ")}\n`,
};
const localStdout = (name: string): string | undefined =>
    Object.entries(localCommandStdout).find(([suffix]) => name.endsWith(suffix))?.[1](name);

/**
 * Extra outputs per resource type, merged over the inputs the program passed. `known` holds the
 * inputs of the resources declared so far, by type and id (an instance finds its subnet's CIDR).
 */
export type Known = (type: string, id: string) => Props | undefined;
export const resourceOutputs: Record<
    string,
    (name: string, inputs: Props, known: Known, stack: StackContext) => Props
> = {
    "aws:ec2/instance:Instance": (_n, i, known, stack) => ({
        publicIp: placeholder("instance public IP"),
        privateIp: privateIpIn(known("aws:ec2/subnet:Subnet", String(i.subnetId))),
        arn: placeholder("instance ARN"),
        availabilityZone: i.availabilityZone ?? `${stack.region}a`,
    }),
    "aws:ec2/eip:Eip": (n) => ({ publicIp: `198.51.100.${10 + hostOrdinal(n)}`, allocationId: "eipalloc-placeholder" }),
    "aws:ebs/volume:Volume": () => ({ arn: placeholder("volume ARN") }),
    "aws:iam/role:Role": (n) => ({ arn: `arn:aws:iam::123456789012:role/${n}` }),
    "aws:iam/instanceProfile:InstanceProfile": (n) => ({ arn: `arn:aws:iam::123456789012:instance-profile/${n}` }),
    "tls:index/privateKey:PrivateKey": (n) => ({
        publicKeyOpenssh: placeholderKey(n),
        privateKeyOpenssh: placeholder("host private key"),
        privateKeyPem: placeholder("host private key"),
    }),
    "tailscale:index/tailnetKey:TailnetKey": () => ({ key: placeholder("tailscale auth key") }),
    "command:remote:Command": (n) => ({
        stdout: remoteStdout(n) ?? placeholder("command output, known after apply"),
        stderr: "",
    }),
    "command:local:Command": (n) => ({
        stdout: localStdout(n) ?? placeholder("command output, known after apply"),
        stderr: "",
    }),
};

/** Resource ids that other values are derived from (the EBS by-id path). */
export const resourceIds: Record<string, (name: string) => string> = {
    "aws:ebs/volume:Volume": (n) => `vol-0placeholder${String(hostOrdinal(n)).padStart(6, "0")}`,
    "aws:ec2/instance:Instance": (n) => `i-0placeholder${String(hostOrdinal(n)).padStart(6, "0")}`,
};

/**
 * Answers to provider functions (lookups), labelled as placeholders. The region is the stack's
 * `aws:region`, and every instance type is offered in its zones a and b (the real lookup decides).
 */
export const functionResults: Record<string, (args: Props, stack: StackContext) => Props> = {
    "aws:ec2/getAmi:getAmi": () => ({
        id: "ami-0placeholder00000",
        imageId: "ami-0placeholder00000",
        architecture: "arm64",
        name: placeholder("newest official NixOS arm64 AMI, looked up at deploy time"),
    }),
    "aws:index/getRegion:getRegion": (_a, stack) => ({ name: stack.region, region: stack.region, id: stack.region }),
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": (_a, stack) => ({
        instanceTypes: ["placeholder"],
        locations: [`${stack.region}a`, `${stack.region}b`],
        locationTypes: ["availability-zone", "availability-zone"],
    }),
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({
        accountId: "123456789012",
        arn: placeholder("caller ARN"),
        userId: "placeholder",
    }),
    "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com" }),
    // The state volume as AWS has it (the shrink check): offline there is none yet, so no size.
    "aws:ebs/getVolume:getVolume": (a) => ({ id: String(a.filters?.[0]?.values?.[0] ?? placeholder("volume id")) }),
    // The device list is read live on every run; offline, no device has joined yet.
    "tailscale:index/getDevices:getDevices": () => ({ id: placeholder("tailnet devices"), devices: [] }),
};
