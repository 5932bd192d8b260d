/** The build: one deterministic JavaScript file, in the deployment bundle, that runs on its own. */
import { execFileSync } from "child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { bundleHash, collectBundle, vmStateBundlePath } from "../../../components/deploy/bundle";
import {
    buildVmState,
    esbuildTarget,
    nodeTargets,
    repoRoot,
    vmStateCompileCache,
    writeVmState,
} from "../../../vm-state/build";

describe("the vm-state build", () => {
    const code = buildVmState();

    test("is the same bytes on every build of the same source, with no path of this machine in it", () => {
        expect(buildVmState()).toBe(code);
        expect(code).not.toContain(repoRoot);
        expect(code).not.toContain(tmpdir());
        expect(code.startsWith("#!/usr/bin/env node\n")).toBe(true);
    });

    test("targets the older of the Nodes it runs on (this repository's, the host's nixpkgs')", () => {
        expect(esbuildTarget).toBe(`node${Math.min(nodeTargets.repository, nodeTargets.host)}`);
        const major = Number(/^v(\d+)/.exec(process.version)![1]);
        expect(major).toBeGreaterThanOrEqual(Math.min(nodeTargets.repository, nodeTargets.host));
    });

    test("runs on its own: no node_modules, no source files beside it", () => {
        const dir = mkdtempSync(join(tmpdir(), "vm-state-build-"));
        try {
            writeFileSync(join(dir, "vm-state.js"), code);
            const help = execFileSync(process.execPath, [join(dir, "vm-state.js"), "help"], {
                cwd: dir,
                env: { PATH: process.env.PATH },
            }).toString();
            expect(help).toContain("Exit codes:");
            expect(() =>
                execFileSync(process.execPath, [join(dir, "vm-state.js"), "__check-name", "state", "web"], {
                    cwd: dir,
                }),
            ).not.toThrow();
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test("is written with its compile cache directory beside it, mode 755 whatever the umask (root runs what is cached there)", () => {
        const umask = process.umask(0o000);
        try {
            writeVmState();
        } finally {
            process.umask(umask);
        }
        const cache = statSync(join(repoRoot, vmStateCompileCache));
        expect(cache.isDirectory()).toBe(true);
        expect(cache.mode & 0o777).toBe(0o755);
    });

    test("is in the deployment bundle, and two bundles of the same source have the same hash", () => {
        const files = collectBundle('{"rendered": true}\n');
        const built = files.find((f) => f.path === vmStateBundlePath);
        expect(built?.content.toString("utf8")).toBe(code);
        expect(built?.mode).toBe("644");
        expect(bundleHash(collectBundle('{"rendered": true}\n'))).toBe(bundleHash(files));
    });
});
