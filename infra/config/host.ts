/** `host`: the metal instance, who may log in and how Pulumi reaches it. */
import { cidrProblem, isIpv4, isWorldCidr } from "../../lib/cidr";
import { userNameProblem } from "../../lib/rules";
import { shown } from "../../lib/redact";
import { checkSshPublicKey } from "../../lib/sshKey";
import { isGravitonType, isMetalType, metalTypes } from "../instanceTypes";
import { Problems, readBool, readChoice, readInt, readObject, readString, readStringList } from "./reader";

export type ConnectVia = "public" | "tailscale";

/** `host`: what every host shares (keys, the way in) and the machine defaults `hosts` override. */
export interface HostConfig extends Machine {
    readonly sshPublicKeys: readonly string[];
    readonly adminCidrs: readonly string[];
    /** The explicit opt-in that lets adminCidrs hold 0.0.0.0/0 or ::/0. */
    readonly allowSshFromAnywhere: boolean;
    readonly adminUser: string;
    /** How Pulumi reaches the host over SSH: its public address, or its tailnet name. */
    readonly connectVia: ConnectVia;
}

export const hostDefaults = { instanceType: "a1.metal", rootVolumeGiB: 64, adminUser: "admin" } as const;

const hostKeys = [
    "instanceType",
    "ami",
    "rootVolumeGiB",
    "sshPublicKeys",
    "adminCidrs",
    "allowSshFromAnywhere",
    "availabilityZone",
    "adminUser",
    "connectVia",
];

function checkInstanceType(p: Problems, path: string, instanceType: string): void {
    if (metalTypes[instanceType]) {
        return;
    }
    const why = !isGravitonType(instanceType)
        ? "is not a Graviton (arm64) type"
        : !isMetalType(instanceType)
          ? "is not bare metal, and KVM needs a .metal type"
          : "is not a Graviton metal type microvm-infra knows";
    p.add(path, `${shown(instanceType)} ${why}; valid types are ${Object.keys(metalTypes).join(", ")}`);
}

function readKeys(p: Problems, o: Record<string, unknown>): string[] {
    const keys = readStringList(p, o, "host", "sshPublicKeys");
    if (keys.length === 0 && (o.sshPublicKeys === undefined || Array.isArray(o.sshPublicKeys))) {
        p.add(
            "host.sshPublicKeys",
            "at least one SSH public key is required (the operators' keys for root and the admin user)",
        );
    }
    keys.forEach((key, i) => {
        const problem = checkSshPublicKey(key);
        if (problem) {
            p.add(`host.sshPublicKeys[${i}]`, problem);
        }
    });
    return keys;
}

function readAdminCidrs(p: Problems, o: Record<string, unknown>, allowAnywhere: boolean): string[] {
    const cidrs = readStringList(p, o, "host", "adminCidrs");
    cidrs.forEach((cidr, i) => {
        const problem = cidrProblem(cidr);
        if (problem) {
            p.add(`host.adminCidrs[${i}]`, problem);
        } else if (isWorldCidr(cidr) && !allowAnywhere) {
            p.add(
                `host.adminCidrs[${i}]`,
                `${shown(cidr)} opens the host's SSH to the whole internet; use the CIDR you deploy from ` +
                    `(for example your address/32), or reach the host over the tailnet (host.connectVia "tailscale"); ` +
                    `if you really mean it, also set host.allowSshFromAnywhere to true`,
            );
        }
    });
    return cidrs;
}

/** What makes one machine: the keys `host` holds for every host and `hosts.<name>` overrides. */
export interface Machine {
    readonly instanceType: string;
    readonly ami?: string;
    readonly rootVolumeGiB: number;
    readonly availabilityZone?: string;
}

export const machineKeys = ["instanceType", "ami", "rootVolumeGiB", "availabilityZone"] as const;

/** The machine keys of `o` (at `path`), each falling back to `base`'s, or to the defaults. */
export function readMachine(p: Problems, o: Record<string, unknown>, path: string, base?: Machine): Machine {
    const instanceType = readString(p, o, path, "instanceType", base?.instanceType ?? hostDefaults.instanceType);
    if (o.instanceType !== undefined || base === undefined) {
        checkInstanceType(p, `${path}.instanceType`, instanceType);
    }
    const ami = readString(p, o, path, "ami") ?? base?.ami;
    if (o.ami !== undefined && ami !== undefined && !/^ami-[0-9a-f]{8}([0-9a-f]{9})?$/.test(ami)) {
        p.add(`${path}.ami`, `must be an AMI id like ami-0123456789abcdef0, got ${shown(ami)}`);
    }
    const availabilityZone = readString(p, o, path, "availabilityZone") ?? base?.availabilityZone;
    if (
        o.availabilityZone !== undefined &&
        availabilityZone !== undefined &&
        !/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/.test(availabilityZone)
    ) {
        p.add(
            `${path}.availabilityZone`,
            `must be an availability zone name such as us-east-1a, got ${shown(availabilityZone)}`,
        );
    }
    return {
        instanceType,
        ami,
        rootVolumeGiB: readInt(
            p,
            o,
            path,
            "rootVolumeGiB",
            20,
            16384,
            base?.rootVolumeGiB ?? hostDefaults.rootVolumeGiB,
        ),
        availabilityZone,
    };
}

export function parseHost(p: Problems, raw: unknown): HostConfig {
    const o = readObject(p, "host", raw, hostKeys);
    const machine = readMachine(p, o, "host");
    const allowSshFromAnywhere = readBool(p, o, "host", "allowSshFromAnywhere", false);
    const adminUser = readString(p, o, "host", "adminUser", hostDefaults.adminUser);
    const badUser = userNameProblem(adminUser);
    if (badUser) {
        p.add("host.adminUser", badUser);
    }
    return {
        ...machine,
        sshPublicKeys: readKeys(p, o),
        adminCidrs: readAdminCidrs(p, o, allowSshFromAnywhere),
        allowSshFromAnywhere,
        adminUser,
        connectVia: readChoice(p, o, "host", "connectVia", connectChoices, "public"),
    };
}

export const connectChoices = ["public", "tailscale"] as const;

/**
 * Whether Pulumi can reach every host the way it is told: `host.connectVia`, or a host's own
 * `hosts.<name>.connectVia` where that differs (each problem names the key that set it).
 */
export function checkWayIn(
    p: Problems,
    host: HostConfig,
    hosts: readonly { name: string; connectVia: ConnectVia }[],
    tailscaleEnabled: boolean,
): void {
    if (hosts.some((h) => h.connectVia === "public")) {
        if (host.adminCidrs.length === 0) {
            p.add(
                "host.adminCidrs",
                `is empty, so Pulumi has no way to reach the host over SSH: add the CIDR you deploy from (pulumi config set --path 'host.adminCidrs[0]' 203.0.113.7/32), or, once the host has joined the tailnet, set host.connectVia to "tailscale"`,
            );
        } else if (host.adminCidrs.every((c) => cidrProblem(c) === undefined && !isIpv4(c))) {
            p.add(
                "host.adminCidrs",
                `holds only IPv6 CIDRs, but the host's public address is IPv4 only (an Elastic IP), so Pulumi could not reach it: add the IPv4 CIDR you deploy from, or set host.connectVia to "tailscale"`,
            );
        }
    }
    if (tailscaleEnabled) {
        return;
    }
    if (host.connectVia === "tailscale" && hosts.some((h) => h.connectVia === host.connectVia)) {
        p.add(
            "host.connectVia",
            `is "tailscale" but tailscale.enabled is false; set host.connectVia to "public" (with host.adminCidrs) or enable Tailscale`,
        );
    }
    for (const h of hosts.filter((x) => x.connectVia === "tailscale" && host.connectVia !== "tailscale")) {
        p.add(
            `hosts.${h.name}.connectVia`,
            `is "tailscale" but tailscale.enabled is false; set it to "public" or enable Tailscale`,
        );
    }
}
