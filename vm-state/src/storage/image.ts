/**
 * Disk images, shared by the backends: a new empty image (sparse, formatted ext4 with the data
 * label, so it boots as a new VM) and a copy of one.
 *
 * Copies use the platform: `copyFileSync(src, dst, COPYFILE_EXCL | COPYFILE_FICLONE_FORCE)` is one
 * FICLONE ioctl (libuv src/unix/fs.c `uv__fs_copyfile`: dst opened O_WRONLY|O_CREAT|O_EXCL, the
 * ioctl, and on failure with FICLONE_FORCE the error returned and dst unlinked): constant time, no
 * space until written. Where the filesystem has no reflinks, the files backend copies the
 * allocated data with `cp --sparse=always`: Node has no SEEK_DATA/SEEK_HOLE (no lseek), and a
 * byte copy through libuv's sendfile/copy_file_range fallback would write every hole of a 64 GiB
 * sparse image.
 */
import { closeSync, constants, copyFileSync, ftruncateSync, openSync } from "fs";
import { fail } from "../errors";
import { errnoCode, systemMessage } from "../text";
import { StorageContext } from "./driver";

/** FICLONE's answers that mean "this filesystem (or pair of files) cannot share blocks". */
export const noReflinkErrors: readonly string[] = ["ENOTSUP", "EOPNOTSUPP", "EXDEV", "EINVAL", "ENOSYS", "ENOTTY"];

const GiB = 1024 ** 3;

/** A new sparse image of SIZE GiB at PATH (which must not exist), formatted ext4 with LABEL. */
export async function makeImage(ctx: StorageContext, path: string, sizeGiB: number): Promise<void> {
    try {
        const fd = openSync(
            path,
            constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
            0o644,
        );
        try {
            ftruncateSync(fd, sizeGiB * GiB);
        } finally {
            closeSync(fd);
        }
    } catch (err) {
        throw fail(`creating a ${sizeGiB} GiB image failed: ${systemMessage(err)}`);
    }
    await ctx.proc.attempt("formatting the new image (mkfs.ext4)", "mkfs.ext4", [
        "-q",
        "-F",
        "-L",
        ctx.config.dataLabel,
        "--",
        path,
    ]);
}

/** Reflink only (xfs) or a reflink where the filesystem has them, else a sparse copy (files). */
export type CopyMode = "reflink" | "reflink-or-sparse";

/** Copies SRC to DST (which must not exist); WHAT names the source in the error ("state web"). */
export async function copyImage(
    ctx: StorageContext,
    src: string,
    dst: string,
    what: string,
    mode: CopyMode,
): Promise<void> {
    try {
        copyFileSync(src, dst, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
        return;
    } catch (err) {
        if (mode === "reflink" || !noReflinkErrors.includes(errnoCode(err) ?? "")) {
            throw fail(`copying ${what} failed: ${systemMessage(err)}`);
        }
    }
    await ctx.proc.attempt(`copying ${what}`, "cp", ["--sparse=always", "--", src, dst]);
}
