/**
 * `npm run plan -- --render-dir DIR`: the directory the files pushed to the host are written to.
 * Checked before anything is planned, so a bad one is one clear usage error naming the option:
 * a path through a file, a directory that cannot be written (permissions, a read-only
 * filesystem), or a kernel filesystem such as /proc, where Node's recursive mkdir never returns.
 * A write that fails anyway (a full disk) is reported the same way, never as a stack trace.
 */
import { accessSync, chmodSync, constants, mkdirSync, realpathSync, statfsSync, statSync, writeFileSync } from "fs";
import { dirname, join, parse, resolve } from "path";

export class RenderDirError extends Error {}

/**
 * Kernel pseudo filesystems, by the `f_type` statfs(2) reports (Linux include/uapi/linux/magic.h):
 * they hold no files of ours, and writing into them hangs (proc) or fails in odd ways.
 */
export const pseudoFilesystems: Readonly<Record<string, number>> = {
    proc: 0x9fa0, // PROC_SUPER_MAGIC
    sysfs: 0x62656572, // SYSFS_MAGIC
    devpts: 0x1cd1, // DEVPTS_SUPER_MAGIC
    cgroup: 0x27e0eb, // CGROUP_SUPER_MAGIC
    cgroup2: 0x63677270, // CGROUP2_SUPER_MAGIC
    debugfs: 0x64626720, // DEBUGFS_MAGIC
    tracefs: 0x74726163, // TRACEFS_MAGIC
    securityfs: 0x73636673, // SECURITYFS_MAGIC
    bpf: 0xcafe4a11, // BPF_FS_MAGIC
    pstore: 0x6165676c, // PSTOREFS_MAGIC
    efivarfs: 0xde5e81e4, // EFIVARFS_MAGIC
    configfs: 0x62656570, // CONFIGFS_MAGIC
    binfmt_misc: 0x42494e4d, // BINFMTFS_MAGIC
    fusectl: 0x65735543, // FUSECTL_SUPER_MAGIC
};

/** Directories of kernel filesystems or device nodes (devtmpfs reports tmpfs's magic). */
export const pseudoRoots = ["/proc", "/sys", "/dev"] as const;

const why: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "a read-only filesystem",
    ENOSPC: "no space left on the device",
    EDQUOT: "disk quota exceeded",
    ENOTDIR: "a part of the path is not a directory",
    EISDIR: "a directory is in the way",
    EEXIST: "something else is in the way",
};
const reason = (err: unknown): string => {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    return why[code] ?? (code || String(err));
};

const under = (path: string, root: string) => path === root || path.startsWith(`${root}/`);

/** Throws a RenderDirError saying why DIR cannot take the rendered files. */
export function checkRenderDir(dir: string): void {
    const target = resolve(dir);
    // The nearest part of the path that exists: every part before it must be a directory.
    let existing = parse(target).root;
    for (const part of target.slice(existing.length).split("/").filter(Boolean)) {
        const next = join(existing, part);
        let isDir: boolean;
        try {
            isDir = statSync(next).isDirectory();
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") {
                break;
            }
            throw new RenderDirError(`--render-dir: ${dir}: cannot look at ${next} (${reason(err)})`);
        }
        if (!isDir) {
            throw new RenderDirError(
                next === target
                    ? `--render-dir: ${dir} exists and is not a directory`
                    : `--render-dir: ${dir} goes through ${next}, which is a file, not a directory`,
            );
        }
        existing = next;
    }
    const real = realpathSync(existing);
    const root = pseudoRoots.find((r) => under(real, r));
    const type = statfsSync(real).type;
    const fs = Object.entries(pseudoFilesystems).find(([, magic]) => magic === type)?.[0];
    if (root !== undefined || fs !== undefined) {
        const where = root !== undefined ? `in ${root}` : `on ${fs}`;
        throw new RenderDirError(
            `--render-dir: ${dir} is ${where}, a kernel filesystem, not a place for files; choose a directory on a disk, such as out/`,
        );
    }
    try {
        accessSync(real, constants.W_OK);
    } catch (err) {
        throw new RenderDirError(`--render-dir: ${dir} cannot be written: ${existing}: ${reason(err)}`);
    }
}

/** Writes `files` under `dir` (executables with mode 755, as on the host); a failed write is a RenderDirError. */
export function writeRendered(dir: string, files: Record<string, string>, executables: readonly string[]): void {
    for (const [path, content] of Object.entries(files)) {
        const target = join(dir, path);
        try {
            mkdirSync(dirname(target), { recursive: true });
            writeFileSync(target, content);
            chmodSync(target, executables.includes(path) ? 0o755 : 0o644);
        } catch (err) {
            throw new RenderDirError(`--render-dir: ${dir}: cannot write ${path}: ${reason(err)}`);
        }
    }
}
