/**
 * The xfs backend: the files backend on an XFS with reflinks, where every clone, snapshot and
 * restore is a FICLONE (constant time, no space until written) and nothing else is accepted: on a
 * filesystem without reflinks a "copy" would silently copy every byte, so every change is refused.
 * The first change checks the filesystem once by reflinking a one-byte file, and records the
 * result in `states/.vm-state-reflink` (a file on that filesystem).
 */
import { closeSync, constants, copyFileSync, openSync, unlinkSync, writeSync } from "fs";
import { createTemp } from "../atomic";
import { conflict, fail } from "../errors";
import { reflinkMarkName } from "../layout";
import { lstatOrNull } from "../root";
import { systemMessage } from "../text";
import { StorageContext } from "./driver";
import { FilesDriver } from "./files";

export class XfsDriver extends FilesDriver {
    constructor(ctx: StorageContext) {
        super(ctx, "xfs", "reflink");
    }

    override async prepare(): Promise<void> {
        const mark = this.layout.statesEntry(reflinkMarkName); // a link there is refused (exit 4), never written through
        const stat = lstatOrNull(mark);
        if (stat?.isFile()) {
            return;
        }
        if (stat !== null) {
            throw conflict(`${mark} is not vm-state's reflink mark (a file); move it away`);
        }
        const states = this.layout.states();
        const probe = createTemp(states, ".tmp-reflink");
        const copy = `${probe.path}.copy`;
        try {
            writeSync(probe.fd, "x");
            closeSync(probe.fd);
            copyFileSync(probe.path, copy, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
        } catch (err) {
            throw fail(
                `backend xfs needs reflinks, and the filesystem of ${states} has none (${systemMessage(err)}); format it with 'mkfs.xfs -m reflink=1' or use the files backend`,
            );
        } finally {
            for (const p of [probe.path, copy]) {
                try {
                    unlinkSync(p);
                } catch {
                    // not made
                }
            }
        }
        try {
            closeSync(
                openSync(mark, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644),
            );
        } catch (err) {
            throw fail(`writing ${mark} failed: ${systemMessage(err)}`);
        }
    }
}
