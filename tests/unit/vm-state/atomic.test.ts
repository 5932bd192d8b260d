import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { createTemp, makeDirs, writeAtomic } from "../../../vm-state/src/atomic";

describe("atomic files", () => {
    let dir: string;
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "vm-state-atomic-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    test("writeAtomic replaces the file and leaves no temporary file", () => {
        writeFileSync(join(dir, "j.json"), "old");
        writeAtomic(dir, join(dir, "j.json"), ".j", "new\n");
        expect(readFileSync(join(dir, "j.json"), "utf8")).toBe("new\n");
        expect(readdirSync(dir)).toEqual(["j.json"]);
    });

    test("a link at the target is replaced, never written through", () => {
        writeFileSync(join(dir, "outside"), "keep");
        symlinkSync(join(dir, "outside"), join(dir, "j.json"));
        writeAtomic(dir, join(dir, "j.json"), ".j", "new");
        expect(readFileSync(join(dir, "outside"), "utf8")).toBe("keep");
        expect(readFileSync(join(dir, "j.json"), "utf8")).toBe("new");
    });

    test("a failure leaves the old file and no temporary file", () => {
        writeFileSync(join(dir, "j.json"), "old");
        mkdirSync(join(dir, "target-is-a-dir"));
        expect(() => writeAtomic(dir, join(dir, "target-is-a-dir"), ".j", "new")).toThrow();
        expect(readdirSync(dir).sort()).toEqual(["j.json", "target-is-a-dir"]);
    });

    test("createTemp makes a new name of six characters each time, never an existing file", () => {
        const a = createTemp(dir, ".vm-state-journal");
        const b = createTemp(dir, ".vm-state-journal");
        expect(a.path).not.toBe(b.path);
        expect(a.path).toMatch(/\/\.vm-state-journal\.[A-Za-z0-9]{6}$/);
    });

    test("makeDirs makes the missing parents and says why it cannot", () => {
        makeDirs(join(dir, "a/b/c"));
        makeDirs(join(dir, "a/b/c"));
        writeFileSync(join(dir, "f"), "");
        expect(() => makeDirs(join(dir, "f/x"))).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
    });
});
