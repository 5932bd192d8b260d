/**
 * The bundle pushed to the host: `nixos/**` from the repository with the rendered `infra.json`
 * in place of `nixos/infra.json`, `scripts/**` (the host-side tools in the repository) and
 * `scripts/vm-state.js`, vm-state built
 * from vm-state/src (esbuild, vm-state/build.ts), which the flake runs with nixpkgs' Node
 * (nixos/lib/vm-state.nix). Deterministic: the same files give the same hash and the same tar, byte for
 * byte, on any machine, so an unchanged stack runs no remote command.
 *
 * The hash is sha256 of the manifest, one line `MODE SHA256 PATH` per file sorted by path (MODE
 * `755` or `644`); the launcher on the host recomputes it from the extracted files
 * (`remote/switch.sh`, `manifest_hash`) before using them. The switch job runs from the bundle
 * (`deploy/switch-job.sh`).
 */
import { createHash } from "crypto";
import {
    existsSync,
    lstatSync,
    mkdirSync,
    readdirSync,
    readFileSync,
    renameSync,
    rmSync,
    statSync,
    writeFileSync,
} from "fs";
import { join, posix, resolve } from "path";
import { buildVmState } from "../../vm-state/build";
import { switchJobBundlePath, switchJobFile } from "./remoteCommands";
import { shown } from "../../lib/redact";

export interface BundleFile {
    readonly path: string;
    readonly mode: "755" | "644";
    readonly content: Buffer;
}

export const repoRoot = resolve(__dirname, "../..");
/** What the flake reads (docs/nixos.md): its own directory and the host-side scripts it packages. */
export const bundleDirs = ["nixos", "scripts"] as const;
export const infraJsonPath = "nixos/infra.json";
/** vm-state's build in the bundle, beside the host-side scripts (built here, never committed). */
export const vmStateBundlePath = "scripts/vm-state.js";

const pathPattern = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

function walk(root: string, rel: string, out: BundleFile[]): void {
    for (const entry of readdirSync(join(root, rel)).sort()) {
        // Editor and build leftovers (.#lock, result links) are not part of the flake.
        if (entry.startsWith(".") || entry === "result" || entry.startsWith("result-")) {
            continue;
        }
        const path = posix.join(rel, entry);
        const stat = lstatSync(join(root, path));
        if (stat.isDirectory()) {
            walk(root, path, out);
        } else if (stat.isFile()) {
            out.push(readBundleFile(root, path));
        }
    }
}

function readBundleFile(root: string, path: string): BundleFile {
    const stat = lstatSync(join(root, path));
    if (!stat.isFile()) {
        throw new Error(`bundle file ${shown(path)} is not a regular file`);
    }
    return { path, mode: stat.mode & 0o100 ? "755" : "644", content: readFileSync(join(root, path)) };
}

/** The repository's files for the bundle, with `infraJson` as `nixos/infra.json`. Sorted by path. */
export function collectBundle(infraJson: string, root: string = repoRoot): BundleFile[] {
    const files: BundleFile[] = [];
    for (const dir of bundleDirs) {
        walk(root, dir, files);
    }
    const rendered: BundleFile = { path: infraJsonPath, mode: "644", content: Buffer.from(infraJson, "utf8") };
    const job: BundleFile = { path: switchJobBundlePath, mode: "755", content: readFileSync(switchJobFile) };
    const vmState: BundleFile = {
        path: vmStateBundlePath,
        mode: "644",
        content: Buffer.from(buildVmState(root), "utf8"),
    };
    return sortFiles([...files.filter((f) => f.path !== infraJsonPath), rendered, job, vmState]);
}

export function sortFiles(files: readonly BundleFile[]): BundleFile[] {
    for (const f of files) {
        if (!pathPattern.test(f.path) || f.path.split("/").includes("..")) {
            throw new Error(`bundle path ${shown(f.path)} must be relative, in letters, digits and . _ - /`);
        }
    }
    const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    sorted.forEach((f, i) => {
        if (i > 0 && sorted[i - 1].path === f.path) {
            throw new Error(`bundle path ${shown(f.path)} appears twice`);
        }
    });
    return sorted;
}

const sha256 = (data: Buffer | string): string => createHash("sha256").update(data).digest("hex");

export function manifest(files: readonly BundleFile[]): string {
    return sortFiles(files)
        .map((f) => `${f.mode} ${sha256(f.content)} ${f.path}\n`)
        .join("");
}

export function bundleHash(files: readonly BundleFile[]): string {
    return sha256(manifest(files));
}

// ---------------------------------------------------------------- tar (POSIX ustar)

function octal(value: number, width: number): string {
    return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(path: string, mode: string, size: number): Buffer {
    const h = Buffer.alloc(512, 0);
    let name = path;
    let prefix = "";
    if (Buffer.byteLength(path) > 100) {
        const cut = path.lastIndexOf("/", 155);
        if (cut <= 0 || path.length - cut - 1 > 100) {
            throw new Error(`bundle path ${shown(path)} is too long for a tar header`);
        }
        prefix = path.slice(0, cut);
        name = path.slice(cut + 1);
    }
    h.write(name, 0, 100, "utf8");
    h.write(octal(parseInt(mode, 8), 8), 100, "ascii");
    h.write(octal(0, 8), 108, "ascii"); // uid
    h.write(octal(0, 8), 116, "ascii"); // gid
    h.write(octal(size, 12), 124, "ascii");
    h.write(octal(0, 12), 136, "ascii"); // mtime: fixed, so the tar is reproducible
    h.write("        ", 148, "ascii"); // checksum placeholder
    h.write("0", 156, "ascii"); // regular file
    h.write("ustar\0", 257, "ascii");
    h.write("00", 263, "ascii");
    h.write("root", 265, "ascii");
    h.write("root", 297, "ascii");
    h.write(prefix, 345, 155, "utf8");
    let sum = 0;
    for (const byte of h) {
        sum += byte;
    }
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
    return h;
}

/** A reproducible tar of the files (no directories: tar creates them; mtime 0, owner root). */
export function tarBundle(files: readonly BundleFile[]): Buffer {
    const parts: Buffer[] = [];
    for (const f of sortFiles(files)) {
        parts.push(header(f.path, f.mode, f.content.length), f.content);
        const pad = (512 - (f.content.length % 512)) % 512;
        parts.push(Buffer.alloc(pad, 0));
    }
    parts.push(Buffer.alloc(1024, 0));
    return Buffer.concat(parts);
}

/** Where bundle tars are cached on the operator's machine, relative to the project (gitignored). */
export const bundleCacheDir = ".microvm-infra/bundles";
/** How many tars the cache keeps at least; beyond them, tars older than a week are removed when a new one is written. */
const cachedBundles = 10;

/**
 * Writes the bundle's tar to `<root>/.microvm-infra/bundles/<hash>.tar` (once: the name is its
 * content) and returns that path relative to `root`, the path the upload's FileAsset names, so the
 * stack's state holds a stable path and a hash, never the content.
 */
export function writeBundleTar(files: readonly BundleFile[], root: string = repoRoot): string {
    const hash = bundleHash(files);
    const dir = join(root, bundleCacheDir);
    const rel = posix.join(bundleCacheDir, `${hash}.tar`);
    const target = join(root, rel);
    if (!existsSync(target)) {
        mkdirSync(dir, { recursive: true });
        const tmp = `${target}.${process.pid}.tmp`;
        writeFileSync(tmp, tarBundle(files));
        renameSync(tmp, target);
        // Prune only old tars: another `pulumi` or plan may be using a recent one right now.
        const weekAgo = Date.now() - 7 * 24 * 3600 * 1000;
        const old = readdirSync(dir)
            .filter((f) => f.endsWith(".tar"))
            .map((f) => join(dir, f))
            .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
            .slice(cachedBundles);
        old.filter((f) => f !== target && statSync(f).mtimeMs < weekAgo).forEach((f) => rmSync(f, { force: true }));
    }
    return rel;
}

/** Per-file content hashes, for the switch's triggers: a review sees which file changed. */
export function fileHashes(files: readonly BundleFile[]): Record<string, string> {
    return Object.fromEntries(sortFiles(files).map((f) => [f.path, `${f.mode} ${sha256(f.content).slice(0, 16)}`]));
}
