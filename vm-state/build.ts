/**
 * Builds vm-state (vm-state/src, TypeScript) into one JavaScript file with esbuild: run by
 * `npm ci` (the `prepare` script) and by `tools/test.sh` into `vm-state/dist/vm-state.js`, and
 * in memory by `components/deploy/bundle.ts` for the deployment bundle.
 *
 * The output is deterministic (the deployment bundle's hash depends on it): esbuild writes paths
 * relative to `absWorkingDir` (the repository), no timestamps, no source map.
 */
import { buildSync } from "esbuild";
import { chmodSync, mkdirSync, renameSync, writeFileSync } from "fs";
import { dirname, join, resolve } from "path";

export const repoRoot = resolve(__dirname, "..");
export const vmStateEntry = "vm-state/src/main.ts";
/** Where `npm ci` and the tests find the build (gitignored). */
export const vmStateOutput = "vm-state/dist/vm-state.js";

/**
 * The Node versions the bundle runs on, as data: Node 22 here (package.json `engines`), and the
 * `nodejs` of the pinned nixpkgs on the host (nixos/flake.lock): Node 24, nixpkgs' default since
 * 26.05 (nixpkgs doc/release-notes/rl-2605.section.md: "Node.js default version has been updated
 * from 22 LTS to 24 LTS"). esbuild targets the older of the two.
 */
export const nodeTargets = { repository: 22, host: 24 } as const;
export const esbuildTarget = `node${Math.min(nodeTargets.repository, nodeTargets.host)}`;

const banner = "#!/usr/bin/env node\n// vm-state, built from vm-state/src by vm-state/build.ts (esbuild). Do not edit.";

/** The bundle's text. */
export function buildVmState(root: string = repoRoot): string {
    const result = buildSync({
        absWorkingDir: root,
        entryPoints: [vmStateEntry],
        bundle: true,
        platform: "node",
        format: "cjs",
        target: esbuildTarget,
        write: false,
        outfile: vmStateOutput,
        banner: { js: banner },
        legalComments: "none",
        charset: "utf8",
        logLevel: "silent",
    });
    if (result.errors.length > 0 || result.outputFiles.length !== 1) {
        throw new Error(`building vm-state failed: ${result.errors.map((e) => e.text).join("; ")}`);
    }
    return result.outputFiles[0].text;
}

/**
 * Node's compile cache for the build, beside it (scripts/vm-state points NODE_COMPILE_CACHE
 * here): made with the build, mode 755 whatever the umask, so only the build's owner writes the
 * code that runs.
 */
export const vmStateCompileCache = "vm-state/dist/.compile-cache";

/** Writes the bundle to `vm-state/dist/vm-state.js` (mode 755, replaced atomically); returns its path. */
export function writeVmState(root: string = repoRoot): string {
    const target = join(root, vmStateOutput);
    mkdirSync(dirname(target), { recursive: true });
    const cache = join(root, vmStateCompileCache);
    mkdirSync(cache, { recursive: true });
    chmodSync(cache, 0o755);
    const tmp = `${target}.${process.pid}.tmp`;
    writeFileSync(tmp, buildVmState(root), { mode: 0o755 });
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
    return target;
}

if (require.main === module) {
    writeVmState();
}
