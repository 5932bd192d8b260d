/**
 * What the mock runtime answers in place of AWS, Tailscale and the host: the outputs a real
 * provider would compute, as clearly labelled placeholders. One entry per resource type or
 * function the program uses; the tests and `npm run plan` share them.
 */
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

/** Remote commands whose stdout the program parses, by name suffix: a placeholder in the real format. */
export const remoteCommandStdout: Record<string, string> = {
    // `tailscale status --json --peers=false` once the host has joined (components/tailscale/status.ts).
    "-tailscale-status": JSON.stringify({
        BackendState: "Running",
        Self: {
            ID: "nPlaceholder1CNTRL", HostName: "microvm-host", DNSName: "microvm-host.placeholder.ts.net.",
            TailscaleIPs: ["100.64.0.1"], Tags: ["tag:microvm-host"],
        },
    }, null, 2),
};
const remoteStdout = (name: string): string | undefined => Object.entries(remoteCommandStdout).find(([suffix]) => name.endsWith(suffix))?.[1];

/** A stand-in address: the 10th of the subnet the instance is in (the main host's: 172.20.1.10). */
function privateIpIn(subnet: Props | undefined): string {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/\d+$/.exec(String(subnet?.cidrBlock ?? ""));
    return m ? `${m[1]}.${m[2]}.${m[3]}.${Number(m[4]) + 10}` : "172.20.1.10";
}

/** A stand-in ed25519 public key, different per key name (the main host's is all zeros). */
function placeholderKey(name: string, shift = 0): string {
    const last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[((name === "microvm-fleet-transfer" ? 3 : hostOrdinal(name)) + shift) % 64];
    return `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA${last} placeholder-host-key\n`;
}

/**
 * Local commands whose stdout the program parses, by name suffix. `-ssh-ready` prints the host
 * key the host serves once reached (components/deploy/reachable.ts): made on the host, so not the
 * bootstrap key of user data (the tls key of the same host).
 */
export const localCommandStdout: Record<string, (name: string) => string> = {
    "-ssh-ready": (n) => `${placeholderKey(n, 32).split(" ").slice(0, 2).join(" ")}\n`,
};
const localStdout = (name: string): string | undefined => Object.entries(localCommandStdout).find(([suffix]) => name.endsWith(suffix))?.[1](name);

/**
 * Extra outputs per resource type, merged over the inputs the program passed. `known` holds the
 * inputs of the resources declared so far, by type and id (an instance finds its subnet's CIDR).
 */
export type Known = (type: string, id: string) => Props | undefined;
export const resourceOutputs: Record<string, (name: string, inputs: Props, known: Known) => Props> = {
    "aws:ec2/instance:Instance": (_n, i, known) => ({
        publicIp: placeholder("instance public IP"),
        privateIp: privateIpIn(known("aws:ec2/subnet:Subnet", String(i.subnetId))),
        arn: placeholder("instance ARN"),
        availabilityZone: i.availabilityZone ?? "us-east-1a",
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
    "command:remote:Command": (n) => ({ stdout: remoteStdout(n) ?? placeholder("command output, known after apply"), stderr: "" }),
    "command:local:Command": (n) => ({ stdout: localStdout(n) ?? placeholder("command output, known after apply"), stderr: "" }),
};

/** Resource ids that other values are derived from (the EBS by-id path). */
export const resourceIds: Record<string, (name: string) => string> = {
    "aws:ebs/volume:Volume": (n) => `vol-0placeholder${String(hostOrdinal(n)).padStart(6, "0")}`,
    "aws:ec2/instance:Instance": (n) => `i-0placeholder${String(hostOrdinal(n)).padStart(6, "0")}`,
};

/** Answers to provider functions (lookups), labelled as placeholders. */
export const functionResults: Record<string, (args: Props) => Props> = {
    "aws:ec2/getAmi:getAmi": () => ({
        id: "ami-0placeholder00000",
        imageId: "ami-0placeholder00000",
        architecture: "arm64",
        name: placeholder("newest official NixOS arm64 AMI, looked up at deploy time"),
    }),
    "aws:index/getRegion:getRegion": () => ({ name: "us-east-1", region: "us-east-1", id: "us-east-1" }),
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": () => ({
        instanceTypes: ["placeholder"],
        locations: ["us-east-1a", "us-east-1b"],
        locationTypes: ["availability-zone", "availability-zone"],
    }),
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({ accountId: "123456789012", arn: placeholder("caller ARN"), userId: "placeholder" }),
    "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com" }),
    // The state volume as AWS has it (the shrink check): offline there is none yet, so no size.
    "aws:ebs/getVolume:getVolume": (a) => ({ id: String(a.filters?.[0]?.values?.[0] ?? placeholder("volume id")) }),
    // The device list is read live on every run; offline, no device has joined yet.
    "tailscale:index/getDevices:getDevices": () => ({ id: placeholder("tailnet devices"), devices: [] }),
};
