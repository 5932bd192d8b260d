/**
 * The fleet: which hosts the stack runs (`hosts`, or the one host `host` describes), which host
 * each slot and state lives on, and which states are replicated where. A stack without `hosts`
 * has one host named `main`, and a host named `main` keeps the one-host resource names, so an
 * existing stack can list its host under `hosts.main` without any resource being replaced.
 */
import { cidrProblem, ipv4CidrContains, ipv4CidrsOverlap, parseIpv4Cidr } from "../../lib/cidr";
import { ReplicaKeep } from "../../lib/deploymentData";
import { dnsLabelProblem, hostScopedName, nameProblem } from "../../lib/names";
import { snapshotIdProblem } from "../../lib/rules";
import { shown } from "../../lib/redact";
import { subnetSizeProblem } from "../../components/aws/network";
import { connectChoices, ConnectVia, HostConfig, Machine, machineKeys, readMachine } from "./host";
import { NetworkConfig } from "./network";
import { Problems, readChoice, readInt, readMap, readObject, readString } from "./reader";
import { parseStorage, StorageConfig } from "./storage";
import { TailscaleConfig } from "./tailscale";

/** The host a one-host stack has, and whose resources keep the one-host names. */
export const primaryHost = "main";

export interface FleetHost extends Machine {
    readonly name: string;
    readonly storage: StorageConfig;
    /** An EBS snapshot the state volume is created from (restoring a lost host). */
    readonly fromSnapshot?: string;
    /** The host's tailnet name (and hostname). */
    readonly tailscaleHostname: string;
    /** The host's public subnet. */
    readonly subnetCidr: string;
    /** How Pulumi reaches this host: `hosts.<name>.connectVia`, else `host.connectVia`. */
    readonly connectVia: ConnectVia;
}

export interface Replication {
    /** The host that keeps the warm copy. */
    readonly to: string;
    /** How often: `15m`, `1h`, `1d`. */
    readonly every: string;
    readonly keep: ReplicaKeep;
}

const hostKeys = [...machineKeys, "storage", "tailscaleHostname", "subnetCidr", "connectVia"];

/** `hosts`, or the one host of a stack without it. */
export function parseHosts(
    p: Problems,
    raw: unknown,
    host: HostConfig,
    storage: StorageConfig,
    tailscale: TailscaleConfig,
    network: NetworkConfig,
): FleetHost[] {
    if (raw === undefined || raw === null) {
        return [
            {
                ...machineOf(host),
                name: primaryHost,
                storage,
                tailscaleHostname: tailscale.hostname,
                subnetCidr: network.subnetCidr,
                connectVia: host.connectVia,
            },
        ];
    }
    const hosts: FleetHost[] = [];
    for (const [name, value] of readMap(p, "hosts", raw)) {
        const path = `hosts.${name}`;
        const bad = nameProblem("host", name);
        if (bad) {
            p.add(path, bad);
            continue;
        }
        const o = readObject(p, path, value, hostKeys);
        const storageRaw = (o.storage ?? {}) as Record<string, unknown>;
        const fromSnapshot = readString(p, storageRaw, `${path}.storage`, "fromSnapshot");
        const badSnapshot = fromSnapshot === undefined ? undefined : snapshotIdProblem(fromSnapshot);
        if (badSnapshot) {
            p.add(`${path}.storage.fromSnapshot`, badSnapshot);
        }
        const tailscaleHostname = readString(
            p,
            o,
            path,
            "tailscaleHostname",
            hostScopedName(tailscale.hostname, name, primaryHost),
        );
        const badHostname = dnsLabelProblem(tailscaleHostname);
        if (badHostname) {
            p.add(`${path}.tailscaleHostname`, badHostname);
        }
        const subnetCidr =
            readString(p, o, path, "subnetCidr") ?? (name === primaryHost ? network.subnetCidr : undefined);
        if (subnetCidr === undefined) {
            p.add(
                `${path}.subnetCidr`,
                `is required for a host other than ${primaryHost}: its own subnet, an unused IPv4 CIDR inside network.vpcCidr (${network.vpcCidr}), such as a /24`,
            );
        } else if (name === primaryHost && subnetCidr !== network.subnetCidr) {
            p.add(
                `${path}.subnetCidr`,
                `${primaryHost}'s subnet is network.subnetCidr (${network.subnetCidr}); change that key instead, or leave this one out`,
            );
        } else if (name !== primaryHost && subnetCidr === network.subnetCidr) {
            p.add(
                `${path}.subnetCidr`,
                `${shown(subnetCidr)} is ${primaryHost}'s subnet (network.subnetCidr); each host needs its own subnet, an unused IPv4 CIDR inside network.vpcCidr (${network.vpcCidr})`,
            );
        }
        const hostStorage = parseStorage(p, o.storage, `${path}.storage`, storage, ["fromSnapshot"]);
        if (fromSnapshot !== undefined && hostStorage.backend === "files") {
            p.add(
                `${path}.storage.fromSnapshot`,
                `restores the host's state volume from an EBS snapshot, but its storage.backend is "files": no state volume, the states live on the root disk; remove fromSnapshot, or set ${path}.storage.backend to the backend the snapshot's host used ("zfs" or "xfs")`,
            );
        }
        hosts.push({
            ...readMachine(p, o, path, host),
            name,
            storage: hostStorage,
            fromSnapshot,
            tailscaleHostname,
            subnetCidr: subnetCidr ?? "",
            connectVia: readChoice(p, o, path, "connectVia", connectChoices, host.connectVia),
        });
    }
    if (hosts.length === 0 && p.count === 0) {
        p.add("hosts", `must list at least one host, for example hosts.${primaryHost}: {}`);
    }
    checkSubnets(p, hosts, network);
    const byName = new Map<string, string>();
    for (const h of hosts) {
        const other = byName.get(h.tailscaleHostname);
        if (other !== undefined) {
            p.add(
                `hosts.${h.name}.tailscaleHostname`,
                `${shown(h.tailscaleHostname)} is already the tailnet name of host ${other}; each host needs its own`,
            );
        }
        byName.set(h.tailscaleHostname, h.name);
    }
    return hosts.sort((a, b) =>
        a.name === primaryHost ? -1 : b.name === primaryHost ? 1 : a.name.localeCompare(b.name),
    );
}

function machineOf(host: HostConfig): Machine {
    return {
        instanceType: host.instanceType,
        ami: host.ami,
        rootVolumeGiB: host.rootVolumeGiB,
        availabilityZone: host.availabilityZone,
    };
}

function checkSubnets(p: Problems, hosts: readonly FleetHost[], network: NetworkConfig): void {
    const vpc = parseIpv4Cidr(network.vpcCidr);
    const seen: { host: string; cidr: ReturnType<typeof parseIpv4Cidr> }[] = [];
    for (const h of hosts.filter((x) => x.subnetCidr !== "" && x.subnetCidr !== network.subnetCidr)) {
        const path = `hosts.${h.name}.subnetCidr`;
        const problem = cidrProblem(h.subnetCidr, 4) ?? subnetSizeProblem(h.subnetCidr);
        const cidr = parseIpv4Cidr(h.subnetCidr);
        if (problem || !cidr) {
            p.add(path, problem ?? `must be an IPv4 CIDR, got ${shown(h.subnetCidr)}`);
            continue;
        }
        if (vpc && !ipv4CidrContains(vpc, cidr)) {
            p.add(path, `must lie inside network.vpcCidr (${network.vpcCidr}), got ${shown(h.subnetCidr)}`);
        }
        const main = parseIpv4Cidr(network.subnetCidr);
        const clash = [...(main ? [{ host: "network.subnetCidr", cidr: main }] : []), ...seen].find(
            (s) => s.cidr && ipv4CidrsOverlap(s.cidr, cidr),
        );
        if (clash) {
            p.add(path, `${shown(h.subnetCidr)} overlaps the subnet of ${clash.host}; each host needs its own subnet`);
        }
        seen.push({ host: `host ${h.name}`, cidr });
    }
}

/** Which host a slot runs on: its own `host`, or the only host. Reports unknown and missing hosts. */
export function slotHost(p: Problems, slot: string, raw: string | undefined, hosts: readonly FleetHost[]): string {
    return hostFor(p, `slots.${slot}.host`, raw, hosts, "a slot");
}

function hostFor(
    p: Problems,
    path: string,
    raw: string | undefined,
    hosts: readonly FleetHost[],
    what: string,
): string {
    const names = hosts.map((h) => h.name);
    if (raw !== undefined) {
        if (!names.includes(raw) && names.length > 0) {
            p.add(path, `names host ${shown(raw)}, which is not in hosts (${names.join(", ")})`);
        }
        return raw;
    }
    if (names.length > 1) {
        p.add(path, `is required: the stack has several hosts (${names.join(", ")}), so ${what} must say which one`);
    }
    return names[0] ?? primaryHost;
}

/** Which host an unattached state lives on: its own `host`, its source's, or the only host. */
export function stateHost(
    p: Problems,
    state: string,
    raw: string | undefined,
    sourceHost: string | undefined,
    hosts: readonly FleetHost[],
): string {
    if (raw === undefined && sourceHost !== undefined) {
        return sourceHost;
    }
    return hostFor(p, `states.${state}.host`, raw, hosts, "a state that no slot runs");
}

const everyPattern = /^([1-9]\d*)([mhd])$/;

/**
 * A replication period's minutes, or undefined when it is not one: `<N>m|h|d`, at least 5 minutes,
 * and a divisor of an hour or a whole number of hours dividing a day (the host's timer runs on the
 * clock, so a run missed while the host was down is caught up). The table
 * tests/fixtures/intervals.json holds the cases; the Nix rule is tested against it too.
 */
export function periodMinutes(every: string): number | undefined {
    const m = everyPattern.exec(every);
    if (!m) {
        return undefined;
    }
    const minutes = Number(m[1]) * { m: 1, h: 60, d: 1440 }[m[2] as "m" | "h" | "d"];
    const ok = minutes >= 5 && (60 % minutes === 0 || (minutes % 60 === 0 && 1440 % minutes === 0));
    return ok ? minutes : undefined;
}

/** `states.<name>.replicate`: undefined when not set. */
export function parseReplication(p: Problems, path: string, raw: unknown): Replication | undefined {
    if (raw === undefined || raw === null) {
        return undefined;
    }
    const o = readObject(p, path, raw, ["to", "every", "keep"]);
    const to = readString(p, o, path, "to");
    if (to === undefined) {
        p.add(`${path}.to`, "is required: the host that keeps the warm copy");
    }
    const every = readString(p, o, path, "every", "15m");
    if (periodMinutes(every) === undefined) {
        p.add(
            `${path}.every`,
            `must be a period of at least 5m that divides an hour (5m, 6m, 10m, 12m, 15m, 20m, 30m) or whole hours that divide a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 1d), got ${shown(every)}`,
        );
    }
    const k = readObject(p, `${path}.keep`, o.keep, ["hourly", "daily", "weekly", "monthly"]);
    const keep = {
        hourly: readInt(p, k, `${path}.keep`, "hourly", 0, 10000, 24),
        daily: readInt(p, k, `${path}.keep`, "daily", 0, 10000, 7),
        weekly: readInt(p, k, `${path}.keep`, "weekly", 0, 10000, 0),
        monthly: readInt(p, k, `${path}.keep`, "monthly", 0, 10000, 0),
    };
    return { to: to ?? "", every, keep };
}

/** A replica goes to another fleet host, with the same storage backend. */
export function checkReplication(
    p: Problems,
    state: string,
    host: string,
    r: Replication,
    hosts: readonly FleetHost[],
): void {
    const path = `states.${state}.replicate.to`;
    const target = hosts.find((h) => h.name === r.to);
    if (r.to === "") {
        return;
    }
    if (!target) {
        p.add(path, `names host ${shown(r.to)}, which is not in hosts (${hosts.map((h) => h.name).join(", ")})`);
    } else if (r.to === host) {
        p.add(
            path,
            `is the host the state already lives on (${host}); a replica protects against losing that host, so it goes to another one`,
        );
    } else if (target.storage.backend !== hosts.find((h) => h.name === host)?.storage.backend) {
        p.add(
            path,
            `host ${r.to} stores states with ${target.storage.backend}, host ${host} with ${hosts.find((h) => h.name === host)?.storage.backend}; replicas need the same backend`,
        );
    }
}
