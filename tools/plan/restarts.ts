/**
 * Which slots' VMs a change restarts, and why. A slot's VM restarts when its guest system or its
 * unit changes (microvm.nix `restartIfChanged`), when vm-state gives it another state, or when the
 * host is replaced. What its guest system depends on is read from the flake itself: the files
 * `modules/slots.nix` imports, transitively (every slot's guest and unit), and `flake.nix` itself, the slot's own declared
 * modules and what they import, its record in infra.json (all but `publish`, which only the host's
 * firewall reads) and the pinned inputs in flake.lock. Host-only files (the firewall, storage,
 * Tailscale) restart nothing. An estimate made offline; the build on the host is the truth.
 */
import { dirname, posix } from "path";
import { DeploymentSlot } from "../../lib/deploymentData";

/** Where the guests and their units are declared (followed through its imports). */
const guestRoots = ["nixos/modules/slots.nix"];
/** The flake's own file: its inputs and wiring reach every guest (not followed: it imports the host too). */
const flakeFile = "nixos/flake.nix";
/** Record fields only the host reads: a change restarts no VM. */
const hostOnlyFields = new Set(["publish"]);

/** The files a Nix file imports (relative paths ending in .nix), resolved, transitively. */
export function importClosure(roots: readonly string[], files: Record<string, string>): string[] {
    const seen = new Set<string>();
    const visit = (path: string): void => {
        if (seen.has(path) || files[path] === undefined) {
            return;
        }
        seen.add(path);
        for (const m of files[path].matchAll(/(?<![\w/])(\.\.?\/[A-Za-z0-9_./-]+\.nix)/g)) {
            visit(posix.normalize(posix.join(dirname(path), m[1])));
        }
    };
    roots.forEach(visit);
    return [...seen].sort();
}

/** `guests/<name>` references of a slot, as bundle paths. */
function moduleFiles(slot: DeploymentSlot | undefined): string[] {
    return (slot?.modules ?? []).filter((m) => m.startsWith("guests/")).map((m) => `nixos/${m}.nix`);
}

/** The flake inputs a slot's guest uses: nixpkgs and microvm always, and its declared ones. */
function inputsOf(slot: DeploymentSlot | undefined): string[] {
    const declared = (slot?.modules ?? []).filter((m) => !m.startsWith("guests/")).map((m) => m.split("#")[0]);
    return ["microvm", "nixpkgs", ...declared];
}

function lockNode(lockText: string | undefined, input: string): string {
    if (lockText === undefined) {
        return "";
    }
    const lock = JSON.parse(lockText);
    const node = lock.nodes?.[lock.nodes?.[lock.root ?? "root"]?.inputs?.[input]];
    return JSON.stringify(node?.locked ?? null);
}

function changedFields(a: DeploymentSlot, b: DeploymentSlot): string[] {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !hostOnlyFields.has(k)).sort();
    const get = (s: DeploymentSlot, k: string) => JSON.stringify((s as unknown as Record<string, unknown>)[k]);
    return keys.filter((k) => get(a, k) !== get(b, k));
}

/**
 * Why slot `name`'s guest system changes between two bundles (empty: it does not). `old`/`next`
 * are the bundles' files (path to content).
 */
export function systemChanges(name: string, old: Record<string, string>, next: Record<string, string>): string[] {
    const slotIn = (files: Record<string, string>) =>
        (JSON.parse(files["nixos/infra.json"]).slots as DeploymentSlot[]).find((s) => s.name === name);
    const a = slotIn(old);
    const b = slotIn(next);
    if (!a || !b) {
        return [];
    }
    const reasons: string[] = [];
    const fields = changedFields(a, b);
    if (fields.length > 0) {
        reasons.push(
            `its settings changed: ${fields.map((f) => `${f} ${show((a as any)[f])} -> ${show((b as any)[f])}`).join(", ")}`,
        );
    }
    const shared = [...importClosure(guestRoots, next), flakeFile].sort();
    const own = importClosure(moduleFiles(b), next).filter((f) => !shared.includes(f));
    const differs = (f: string) => old[f] !== next[f];
    const sharedChanged = shared.filter(differs);
    if (sharedChanged.length > 0) {
        reasons.push(`the guest configuration every slot shares changed (${sharedChanged.join(", ")})`);
    }
    const ownChanged = own.filter(differs);
    if (ownChanged.length > 0) {
        reasons.push(`its declared module changed (${ownChanged.join(", ")})`);
    }
    const inputs = inputsOf(b).filter(
        (i) => lockNode(old["nixos/flake.lock"], i) !== lockNode(next["nixos/flake.lock"], i),
    );
    if (inputs.length > 0) {
        reasons.push(`a pinned flake input it is built from changed (${[...new Set(inputs)].sort().join(", ")})`);
    }
    return reasons;
}

function show(v: unknown): string {
    return v === undefined ? "(none)" : typeof v === "string" ? v : JSON.stringify(v);
}
