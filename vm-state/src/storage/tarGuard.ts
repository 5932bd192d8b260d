/**
 * The first header of the tar stream a files/xfs move receives, checked before any byte reaches
 * tar: the stream must start with the one member vm-state sends, `data.img`, as a regular file
 * (plain or GNU sparse), no larger than the largest state. A device node, a FIFO, a link or a
 * directory (which tar would create under the root), or an image larger than any state (an 8 TiB
 * or 4 EiB sparse file a hostile peer sends), is refused before anything is written.
 * GNU tar's format: the ustar header (name at 0, size at 124, typeflag at 156) with old-GNU sparse
 * files' real size at 483 (GNU tar manual, "GNU tar and POSIX tar": "Old GNU Format").
 */
import { stateSizeGiB } from "../../../lib/deploymentData";
import { fail } from "../errors";

export const tarBlock = 512;
const GiB = 1024 ** 3;
export const largestImage = stateSizeGiB.max * GiB;

/** A tar numeric field: octal text, or GNU's base-256 (first byte's high bit set). */
export function tarNumber(field: Buffer): number {
    if ((field[0] & 0x80) !== 0) {
        let n = field[0] & 0x7f;
        for (const b of field.subarray(1)) {
            n = n * 256 + b;
        }
        return n;
    }
    const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
    return text === "" ? 0 : /^[0-7]+$/.test(text) ? parseInt(text, 8) : NaN;
}

export function checkTarHead(head: Buffer, from: string): void {
    if (head.length < tarBlock) {
        throw fail(`${from} sent no tar stream of data.img (${head.length} bytes)`);
    }
    const name = head.subarray(0, 100).toString("latin1").replace(/\0.*$/s, "");
    const type = String.fromCharCode(head[156]);
    if (name !== "data.img") {
        throw fail(`${from} sent a stream that does not start with data.img: refused, nothing of it kept`);
    }
    if (!["0", "\0", "S"].includes(type)) {
        throw fail(
            `${from} sent data.img as something other than a regular file (tar type ${JSON.stringify(type)}: a link, a device node, a FIFO or a directory): refused, nothing of it kept`,
        );
    }
    const size = type === "S" ? tarNumber(head.subarray(483, 495)) : tarNumber(head.subarray(124, 136));
    if (!Number.isFinite(size) || size > largestImage) {
        throw fail(
            `${from} sent an image larger than the largest state (${stateSizeGiB.max} GiB): refused, nothing of it kept`,
        );
    }
}
