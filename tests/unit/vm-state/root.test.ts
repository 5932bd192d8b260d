/** The one path function: links anywhere under the root are refused (exit 4) before any use. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { Layout } from "../../../vm-state/src/layout";
import { refuseLink, Root } from "../../../vm-state/src/root";

describe("Root.path", () => {
    let dir: string;
    let root: Root;
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "vm-state-root-"));
        root = new Root(join(dir, "root"));
        mkdirSync(join(dir, "root/states/web/.snapshots"), { recursive: true });
        mkdirSync(join(dir, "outside"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    test("a path of names under the root, existing or not", () => {
        expect(root.path(["states", "web", "data.img"])).toBe(join(dir, "root/states/web/data.img"));
        expect(root.path(["states", "new", "data.img"])).toBe(join(dir, "root/states/new/data.img"));
        expect(root.path([])).toBe(join(dir, "root"));
    });

    test.each([["states"], ["states", "web"], ["states", "web", ".snapshots"]])(
        "a link at %j is refused, naming it and where it points",
        (...segments) => {
            const at = join(dir, "root", ...segments);
            rmSync(at, { recursive: true });
            symlinkSync(join(dir, "outside"), at);
            expect(() => root.path(["states", "web", ".snapshots", "v1.img"])).toThrow(
                expect.objectContaining({
                    code: 4,
                    message: `refusing to run: ${at} is a symbolic link (to ${join(dir, "outside")}); vm-state never follows links out of ${join(dir, "root")}: remove the link or put the real directory or file there`,
                }),
            );
            expect(root.tryPath(["states", "web", ".snapshots", "v1.img"])).toBeUndefined();
        },
    );

    test("the last component may be a link only where vm-state owns one (a slot's data.img)", () => {
        const layout = new Layout(root);
        mkdirSync(join(dir, "root/slot1"));
        symlinkSync(join(dir, "root/states/web/data.img"), join(dir, "root/slot1/data.img"));
        expect(layout.slotLink("slot1")).toBe(join(dir, "root/slot1/data.img"));
        symlinkSync(join(dir, "outside"), join(dir, "root/states/web/data.img"));
        expect(() => layout.stateImage("web")).toThrow("is a symbolic link");
    });

    test("a segment that is not a single name is a bug, not a path", () => {
        expect(() => root.path(["states", "../etc"])).toThrow("internal error");
        expect(() => root.path([".."])).toThrow("internal error");
    });

    test("refuseLink, for vm-state's files outside the root (the lock)", () => {
        writeFileSync(join(dir, "lock"), "");
        expect(() => refuseLink(join(dir, "lock"), root.dir)).not.toThrow();
        symlinkSync(join(dir, "outside/x"), join(dir, "link"));
        expect(() => refuseLink(join(dir, "link"), root.dir)).toThrow(
            `refusing to run: ${join(dir, "link")} is a symbolic link`,
        );
    });
});
