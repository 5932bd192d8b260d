/**
 * The rules the stack config shares with the host's own check of infra.json (nixos/lib/rules.nix):
 * both read nixos/rules/rules.json, so a pattern, a limit or a reserved word is written once, and
 * tests/fixtures/rules.json is the accept/reject table both are run against. The flake inputs' guest
 * modules come from nixos/rules/runtime.json, which cites where upstream defines them.
 */
import rules from "../nixos/rules/rules.json";
import runtime from "../nixos/rules/runtime.json";
import { shown } from "./redact";

export { rules };

/** A whole-value match of a rules.json pattern (written so that JavaScript and POSIX ERE agree). */
export function whole(pattern: string): RegExp {
    return new RegExp(`^(?:${pattern})$`);
}

/**
 * How a refused value is quoted in a message: every message made from these rules goes through
 * here, and through lib/redact.ts: capped, and never a value shaped like a secret.
 */
export function got(value: string): string {
    return `got ${shown(value)}`;
}

const dnsLabel = whole(rules.dnsLabel.pattern);
const userName = whole(rules.userName.pattern);
const reservedUser = whole(rules.userName.reservedPattern);
const tag = whole(rules.tag.pattern);
const snapshotId = whole(rules.snapshotId.pattern);
const domain = whole(rules.domain.pattern);
const repositoryModule = whole(rules.moduleRef.repository);
const inputModule = whole(rules.moduleRef.input);

/** Why `name` is not a DNS label (a host's hostname and tailnet name), or undefined when it is. */
export function dnsLabelProblem(name: string): string | undefined {
    return dnsLabel.test(name) ? undefined : `must be ${rules.dnsLabel.valid}, ${got(name)}`;
}

/** Why `name` cannot be the operators' login (host.adminUser), or undefined when it can. */
export function userNameProblem(name: string): string | undefined {
    if (!userName.test(name)) {
        return `must be ${rules.userName.valid}, ${got(name)}`;
    }
    if (rules.userName.reserved.includes(name) || reservedUser.test(name)) {
        return `"${name}" is an account NixOS or this repository's modules create (a system or service user); choose another name, such as "admin"`;
    }
    return undefined;
}

/** Why `value` is not a Tailscale tag, or undefined. */
export function tagProblem(value: string): string | undefined {
    return tag.test(value) ? undefined : `must be ${rules.tag.valid}, ${got(value)}`;
}

/** Why `value` is not an EBS snapshot id, or undefined. */
export function snapshotIdProblem(value: string): string | undefined {
    return snapshotId.test(value) ? undefined : `must be ${rules.snapshotId.valid}, ${got(value)}`;
}

/** Why `value` is not an egress allowlist entry, or undefined. */
export function domainProblem(value: string): string | undefined {
    return value.length <= rules.domain.maxLength && domain.test(value)
        ? undefined
        : `must be ${rules.domain.valid}, ${got(value)}`;
}

/** Why `port` cannot be a published host port, or undefined. */
export function hostPortProblem(port: number): string | undefined {
    const taken = rules.hostPort.reserved.find((r) => port >= r.from && port <= r.to);
    return taken
        ? `${port} is the host's own (${taken.from === taken.to ? taken.from : `${taken.from}-${taken.to}`}: ${taken.why}); choose another host port`
        : undefined;
}

/** The nixosModules each flake input exports at its pin (runtime.json, with sources). */
export const inputModules: Readonly<Record<string, readonly string[]>> = runtime.nixosModules.inputs;

export type ModuleRef =
    | { readonly kind: "repository"; readonly name: string }
    | { readonly kind: "input"; readonly input: string; readonly attr: string };

/** A guest module reference, parsed by the one rule (the Nix side: nixos/lib/guest-modules.nix), or undefined. */
export function parseModuleRef(ref: string): ModuleRef | undefined {
    const repo = repositoryModule.exec(ref);
    if (repo) {
        return { kind: "repository", name: repo[1] };
    }
    const input = inputModule.exec(ref);
    return input ? { kind: "input", input: input[1], attr: input[3] ?? rules.moduleRef.defaultAttr } : undefined;
}

/** Why the input module `ref` does not resolve at the pinned inputs, or undefined. */
export function inputModuleProblem(
    ref: string,
    input: string,
    attr: string,
    lockedInputs: readonly string[],
): string | undefined {
    if (input === "self" || !lockedInputs.includes(input)) {
        return `"${ref}" names the flake input "${input}", which nixos/flake.lock does not have (inputs: ${lockedInputs.join(", ")}); add it to nixos/flake.nix and run nix flake lock`;
    }
    const modules = inputModules[input];
    if (modules === undefined) {
        return `"${ref}" names the flake input "${input}", whose nixosModules nixos/rules/runtime.json does not list; add them there (nixosModules.inputs.${input}, with the source they come from)`;
    }
    if (!modules.includes(attr)) {
        return `"${ref}": the flake input "${input}" has no nixosModules.${attr} at its pinned revision; it exports ${modules.map((m) => `"${input}#${m}"`).join(", ")}`;
    }
    return undefined;
}
