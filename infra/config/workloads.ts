/**
 * What a slot runs and what it may reach: `egress` (the internet, nothing, or an allowlist of
 * domains reached through the host's proxy), `publish` (TCP ports reachable from the tailnet or,
 * on a host port, from chosen internet sources) and `modules` (NixOS modules declared into the
 * slot's guest system). The host side of each rule is generated from infra.json by nixos/lib
 * (validate.nix checks the same rules again there).
 */
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { cidrProblem, isIpv4 } from "../../lib/cidr";
import { domainProblem, got, hostPortProblem, inputModuleProblem, parseModuleRef, rules } from "../../lib/rules";
import { shown } from "../../lib/redact";
import { Problems, RawObject, readChoice, readInt, readObject, readStringList } from "./reader";

export type Egress =
    | { readonly policy: "internet" }
    | { readonly policy: "none" }
    | { readonly policy: "allowlist"; readonly domains: readonly string[] };

export interface PublishedPort {
    /** The port inside the VM. */
    readonly port: number;
    readonly to: "tailnet" | "internet";
    /** `internet` only: the host's port (defaults to `port`). */
    readonly hostPort?: number;
    /** `internet` only: who may connect (IPv4 CIDRs). */
    readonly sources?: readonly string[];
}

export interface Workload {
    /** Undefined: not set, the default (`internet`). */
    readonly egress?: Egress;
    readonly publish: readonly PublishedPort[];
    readonly modules: readonly string[];
}

export { domainProblem };

function parseEgress(p: Problems, path: string, raw: unknown): Egress | undefined {
    if (raw === undefined || raw === null) {
        return undefined;
    }
    if (raw === "internet" || raw === "none") {
        return { policy: raw };
    }
    if (typeof raw === "string") {
        p.add(path, `must be "internet", "none" or { allow: [domains] }, got ${shown(raw)}`);
        return undefined;
    }
    const o = readObject(p, path, raw, ["allow"]);
    const domains = readStringList(p, o, path, "allow");
    if (domains.length === 0) {
        p.add(`${path}.allow`, 'must list at least one domain; use egress "none" to allow nothing');
    }
    domains.forEach((d, i) => {
        const problem = domainProblem(d);
        if (problem) {
            p.add(`${path}.allow[${i}]`, problem);
        }
    });
    return { policy: "allowlist", domains };
}

function parsePublished(p: Problems, path: string, raw: unknown): PublishedPort | undefined {
    const o = readObject(p, path, raw, ["port", "to", "hostPort", "sources"]);
    const port = readInt(p, o, path, "port", 1, 65535);
    if (port === undefined) {
        if (o.port === undefined) {
            p.add(`${path}.port`, "is required: the TCP port the VM listens on");
        }
        return undefined;
    }
    const to = readChoice(p, o, path, "to", ["tailnet", "internet"] as const, "tailnet");
    if (to === "tailnet") {
        for (const key of ["hostPort", "sources"]) {
            if (o[key] !== undefined) {
                p.add(
                    `${path}.${key}`,
                    `applies to "to: internet" only; a tailnet port is reached at the VM's own address`,
                );
            }
        }
        return { port, to };
    }
    const hostPort = readInt(p, o, path, "hostPort", rules.hostPort.min, rules.hostPort.max, port);
    const reserved = hostPortProblem(hostPort);
    if (reserved) {
        p.add(`${path}.hostPort`, reserved);
    }
    const sources = readStringList(p, o, path, "sources");
    if (sources.length === 0) {
        p.add(
            `${path}.sources`,
            "must list who may connect, as IPv4 CIDRs (0.0.0.0/0 for everyone): a port published to the internet is never open by default",
        );
    }
    sources.forEach((cidr, i) => {
        const problem =
            cidrProblem(cidr) ??
            (isIpv4(cidr) ? undefined : `must be an IPv4 CIDR (the host's public address is IPv4), got ${shown(cidr)}`);
        if (problem) {
            p.add(`${path}.sources[${i}]`, problem);
        }
    });
    return { port, to, hostPort, sources };
}

/** The flake inputs a guest module may name: the root inputs of nixos/flake.lock. */
export function flakeInputs(nixosDir: string): string[] {
    const lock = JSON.parse(readFileSync(join(nixosDir, "flake.lock"), "utf8"));
    return Object.keys(lock.nodes?.[lock.root ?? "root"]?.inputs ?? {}).sort();
}

function checkModule(p: Problems, path: string, ref: string, nixosDir: string): void {
    const parsed = parseModuleRef(ref);
    if (parsed === undefined) {
        p.add(path, `must be ${rules.moduleRef.valid}, ${got(ref)}`);
    } else if (parsed.kind === "repository") {
        if (!existsSync(join(nixosDir, "guests", `${parsed.name}.nix`))) {
            p.add(path, `"${ref}" names nixos/guests/${parsed.name}.nix, which does not exist`);
        }
    } else {
        const problem = inputModuleProblem(ref, parsed.input, parsed.attr, flakeInputs(nixosDir));
        if (problem) {
            p.add(path, problem);
        }
    }
}

/** The workload keys of one slot (`path` = `slots.<name>`). */
export function parseWorkload(p: Problems, path: string, o: RawObject, nixosDir: string): Workload {
    const publishRaw = o.publish;
    let publish: PublishedPort[] = [];
    if (publishRaw !== undefined && publishRaw !== null) {
        if (!Array.isArray(publishRaw)) {
            p.add(`${path}.publish`, `must be a list of { port, to, hostPort, sources }, got ${shown(publishRaw)}`);
        } else {
            publish = publishRaw
                .map((e, i) => parsePublished(p, `${path}.publish[${i}]`, e))
                .filter((e): e is PublishedPort => e !== undefined);
        }
    }
    const seen = new Set<string>();
    publish.forEach((e, i) => {
        const key = `${e.to}:${e.port}`;
        if (seen.has(key)) {
            p.add(`${path}.publish[${i}]`, `port ${e.port} is published to the ${e.to} twice`);
        }
        seen.add(key);
    });
    const modules = readStringList(p, o, path, "modules");
    modules.forEach((ref, i) => checkModule(p, `${path}.modules[${i}]`, ref, nixosDir));
    if (new Set(modules).size !== modules.length) {
        p.add(`${path}.modules`, "names a module twice");
    }
    return { egress: parseEgress(p, `${path}.egress`, o.egress), publish, modules };
}

/** A host port published by two slots is reported on the second, naming the first. */
export function checkHostPorts(
    p: Problems,
    slots: readonly { name: string; publish: readonly PublishedPort[] }[],
): void {
    const owner = new Map<number, string>();
    for (const slot of slots) {
        slot.publish.forEach((e, i) => {
            if (e.to !== "internet" || e.hostPort === undefined) {
                return;
            }
            const other = owner.get(e.hostPort);
            if (other !== undefined) {
                p.add(
                    `slots.${slot.name}.publish[${i}].hostPort`,
                    `${e.hostPort} is already published by slot ${other}; each host port goes to one published port`,
                );
            } else {
                owner.set(e.hostPort, slot.name);
            }
        });
    }
}
