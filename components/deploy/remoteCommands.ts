/**
 * The commands the program runs on the host over SSH, as pure functions of their parameters: the
 * shell lives in `remote/*.sh` (shellcheck, and the real-SSH tests in tests/ssh run these same
 * texts); here only the arguments are computed and checked. Environment overrides the scripts
 * read on the host are listed at the top of `remote/switch.sh`.
 */
import { join } from "path";
import { checkNames } from "../../lib/names";
import { scriptCommand, shq } from "./script";
import { shown } from "../../lib/redact";

export const remoteDir = join(__dirname, "remote");
/** The switch job, shipped in the bundle at this path and run from there by `remote/switch.sh`. */
export const switchJobFile = join(remoteDir, "switch-job.sh");
export const switchJobBundlePath = "deploy/switch-job.sh";

const hashPattern = /^[0-9a-f]{64}$/;

function checkHash(hash: string): void {
    if (!hashPattern.test(hash)) {
        throw new Error(`bundle hash must be 64 lowercase hex digits (sha256), got ${shown(hash)}`);
    }
}

/** The transient systemd unit a switch runs in: named after the bundle, so a second run finds it. */
export function switchUnit(hash: string): string {
    checkHash(hash);
    return `microvm-infra-switch-${hash.slice(0, 16)}`;
}

export interface SwitchParams {
    /** sha256 of the bundle manifest (`bundle.ts`). */
    readonly hash: string;
    /** Whether tailscaled must be active after the switch. */
    readonly tailscale: boolean;
    /** Every slot's name; the ones that have a state must be running after the switch. */
    readonly slots: readonly string[];
}

/** Where `CopyToRemote` puts a bundle's tar on the host for `remote/switch.sh` to take. */
export function incomingBundlePath(hash: string): string {
    checkHash(hash);
    return `/var/lib/microvm-infra/incoming/${hash}.tar`;
}

/** The deployment's command (`remote/switch.sh`); it takes the tar uploaded to `incomingBundlePath`. */
export function switchCommand(p: SwitchParams): string {
    checkHash(p.hash);
    checkNames("slot", p.slots);
    return scriptCommand(join(remoteDir, "switch.sh"), [p.hash, p.tailscale ? "1" : "0", ...p.slots]);
}

/** Secret files must be absolute, outside the Nix store, in plain path characters. Internal; exported for testing. */
export function secretPathProblem(path: string): string | undefined {
    if (!/^\/[A-Za-z0-9._/-]+$/.test(path) || path.split("/").some((part) => part === ".." || part === ".")) {
        return `secret file path must be absolute, without "." or "..", in letters, digits and . _ - /; got ${shown(path)}`;
    }
    if (path === "/nix" || path.startsWith("/nix/")) {
        return `secret file path must be outside /nix (the Nix store is world-readable); got ${shown(path)}`;
    }
    if (path.endsWith("/")) {
        return `secret file path must name a file, not a directory; got ${shown(path)}`;
    }
    return undefined;
}

/** Installs secret files root-only (`remote/secrets.sh`); the contents come on stdin (`secretsStdin`). */
export function secretsCommand(paths: readonly string[]): string {
    for (const p of paths) {
        const problem = secretPathProblem(p);
        if (problem) {
            throw new Error(problem);
        }
    }
    return scriptCommand(join(remoteDir, "secrets.sh"), paths);
}

/** The stdin of `secretsCommand`: one base64 line per file, in the order of `paths`. */
export function secretsStdin(paths: readonly string[], contents: Record<string, string>): string {
    return paths.map((p) => `${Buffer.from(contents[p], "utf8").toString("base64")}\n`).join("");
}

/** vm-state on the host (the tests point it at the repository's copy). */
const vmState = '"${MICROVM_INFRA_VM_STATE:-vm-state}"';

/** A comment naming the host: a new host changes the command, so it runs again there. */
function onHost(what: string, hostId: string): string {
    return `# microvm-infra: ${what} on host ${hostId.replace(/[^A-Za-z0-9_.-]/g, "?")}\n`;
}

export type StateOrigin =
    | { readonly kind: "empty"; readonly sizeGiB: number }
    | { readonly kind: "clone"; readonly source: string }
    | { readonly kind: "restore"; readonly source: string; readonly snapshot: string };

/**
 * Creates a state unless it exists. `hostId` is only a comment: a new host changes the command,
 * so the (idempotent) command runs again there, without replacing the resource.
 */
export function createStateCommand(name: string, origin: StateOrigin, hostId: string): string {
    checkNames("state", [name]);
    const head = onHost(`state ${name}`, hostId);
    switch (origin.kind) {
        case "empty":
            if (!Number.isInteger(origin.sizeGiB) || origin.sizeGiB < 1) {
                throw new Error(
                    `state ${name}: sizeGiB must be a whole number of GiB >= 1, got ${shown(origin.sizeGiB)}`,
                );
            }
            return `${head}${vmState} create --if-missing ${shq(name)} --size-gib ${origin.sizeGiB}\n`;
        case "clone":
            checkNames("state", [origin.source]);
            return `${head}${vmState} clone --if-missing ${shq(origin.source)} ${shq(name)}\n`;
        case "restore":
            checkNames("state", [origin.source]);
            checkNames("snapshot", [origin.snapshot]);
            return `${head}${vmState} restore --if-missing ${shq(`${origin.source}@${origin.snapshot}`)} ${shq(name)}\n`;
    }
}

/** Deletes a state and its snapshots (only for `onRemove: destroy`). */
export function deleteStateCommand(name: string): string {
    checkNames("state", [name]);
    return `# microvm-infra: delete state ${name} (onRemove: destroy)\n${vmState} delete --yes --if-exists ${shq(name)}\n`;
}

export function createSnapshotCommand(state: string, snapshot: string, hostId: string): string {
    checkNames("state", [state]);
    checkNames("snapshot", [snapshot]);
    return `${onHost(`snapshot ${state}@${snapshot}`, hostId)}${vmState} snapshot --if-missing ${shq(state)} ${shq(snapshot)}\n`;
}

export function deleteSnapshotCommand(state: string, snapshot: string): string {
    checkNames("state", [state]);
    checkNames("snapshot", [snapshot]);
    return (
        `# microvm-infra: delete snapshot ${state}@${snapshot} (onRemove: destroy)\n` +
        `${vmState} delete-snapshot --yes --if-exists ${shq(`${state}@${snapshot}`)}\n`
    );
}

/** Puts a state on `host` in a fleet, pulling it from the host that holds it (`remote/place-state.sh`). */
export function placeStateCommand(state: string, host: string): string {
    checkNames("state", [state]);
    checkNames("host", [host]);
    return scriptCommand(join(remoteDir, "place-state.sh"), [state, host]);
}

/**
 * Removes the copies a host kept of `states` after they moved to another host
 * (`vm-state gc --fleet-moved STATE...`): the deploy runs it for states with `onRemove: destroy`.
 */
export function collectMovedCommand(states: readonly string[]): string {
    checkNames("state", [...states]);
    if (states.length === 0) {
        throw new Error("collectMovedCommand: no state given (vm-state would collect every moved copy)");
    }
    return (
        `# microvm-infra: remove the copies kept here of states moved away (onRemove: destroy)
` +
        `${vmState} gc --fleet-moved ${states.map(shq).join(" ")}
`
    );
}

/** The stdin of `applySlotsCommand`: the whole map, keys sorted, as `vm-state apply` reads it. */
export function slotsDocument(assignments: Record<string, string>): string {
    const sorted = Object.fromEntries(
        Object.keys(assignments)
            .sort()
            .map((k) => [k, assignments[k]]),
    );
    return `${JSON.stringify({ slots: sorted })}\n`;
}

/**
 * `vm-state apply -` with the whole slot map on stdin, then the slots' health check
 * (`remote/apply-slots.sh`). `addresses`: slot name to the VM's address.
 */
export function applySlotsCommand(addresses: Record<string, string>): string {
    const slots = Object.keys(addresses).sort();
    checkNames("slot", slots);
    for (const s of slots) {
        if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(addresses[s])) {
            throw new Error(`slot ${s}: address must be an IPv4 address, got ${shown(addresses[s])}`);
        }
    }
    return scriptCommand(
        join(remoteDir, "apply-slots.sh"),
        slots.map((s) => `${s}=${addresses[s]}`),
    );
}
