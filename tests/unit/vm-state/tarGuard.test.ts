/** The first tar header of a files/xfs move, checked before tar extracts anything (storage/tarGuard.ts), on streams GNU tar makes. */
import { execFileSync } from "child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { checkTarHead, largestImage, tarNumber } from "../../../vm-state/src/storage/tarGuard";
import { requireTools } from "../../helpers/tools";

const gate = requireTools(["tar", "mkfifo", "truncate"], "apt-get install tar coreutils");

gate.describe("checkTarHead", () => {
    let dir: string;
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "vm-state-tar-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const head = (member = "data.img"): Buffer =>
        execFileSync("tar", ["--sparse", "--format=gnu", "-c", "-f", "-", "-C", dir, "--", member], {
            maxBuffer: 1 << 26,
        }).subarray(0, 512);

    test("data.img as a regular file, plain or sparse, passes", () => {
        writeFileSync(join(dir, "data.img"), "data");
        expect(() => checkTarHead(head(), "main")).not.toThrow();
        execFileSync("truncate", ["-s", "1G", join(dir, "data.img")]);
        expect(String.fromCharCode(head()[156])).toBe("S");
        expect(() => checkTarHead(head(), "main")).not.toThrow();
    });

    test("a link, a FIFO or another member is refused", () => {
        symlinkSync("/etc/shadow", join(dir, "data.img"));
        expect(() => checkTarHead(head(), "main")).toThrow("main sent data.img as something other than a regular file");
        rmSync(join(dir, "data.img"));
        execFileSync("mkfifo", [join(dir, "data.img")]);
        expect(() => checkTarHead(head(), "main")).toThrow("as something other than a regular file");
        writeFileSync(join(dir, "other"), "x");
        expect(() => checkTarHead(head("other"), "main")).toThrow("does not start with data.img");
        expect(() => checkTarHead(Buffer.from('{"json": true}'), "main")).toThrow(
            "main sent no tar stream of data.img",
        );
    });

    test("a sparse image larger than the largest state is refused (its real size as GNU tar writes a 4 EiB one: base-256)", () => {
        execFileSync("truncate", ["-s", "1G", join(dir, "data.img")]);
        const h = head();
        // The 12-byte field at 483: 0x80, then 2^62 (4 EiB) big-endian in the last eight bytes.
        h[483] = 0x80;
        h.fill(0, 484, 495);
        h[487] = 0x40;
        expect(tarNumber(h.subarray(483, 495))).toBe(2 ** 62);
        expect(() => checkTarHead(h, "main")).toThrow("main sent an image larger than the largest state (16384 GiB)");
        const fits = head();
        expect(tarNumber(fits.subarray(483, 495))).toBe(1024 ** 3);
        expect(largestImage).toBe(16384 * 1024 ** 3);
    });

    test("tar numbers: octal and GNU base-256", () => {
        expect(tarNumber(Buffer.from("00000000017\0"))).toBe(15);
        const big = Buffer.alloc(12);
        big[0] = 0x80;
        big.writeUIntBE(2 ** 44, 6, 6);
        expect(tarNumber(big)).toBe(2 ** 44);
    });
});
