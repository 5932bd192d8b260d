/** The journal: the bash implementation's format read and written unchanged, merged, never replaced. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { Journal, parseJournal, renderJournal } from "../../../vm-state/src/journal";
import { Layout } from "../../../vm-state/src/layout";
import { Root } from "../../../vm-state/src/root";

describe("the journal", () => {
    let dir: string;
    let layout: Layout;
    const file = () => join(dir, ".vm-state-journal.json");
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "vm-state-journal-"));
        layout = new Layout(new Root(dir));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    test("reads what the bash vm-state wrote (jq -c) and writes the same bytes back", () => {
        const bash = '{"stopped":["slot1","slot3"],"links":{"slot3":"web","slot1":"db"},"paused":[]}\n';
        expect(renderJournal(parseJournal(bash)!)).toBe(bash);
        writeFileSync(file(), bash);
        const j = Journal.open(layout);
        expect(j.data).toEqual({ stopped: ["slot1", "slot3"], links: { slot3: "web", slot1: "db" }, paused: [] });
        j.pause(["slot2"]);
        expect(readFileSync(file(), "utf8")).toBe(
            '{"stopped":["slot1","slot3"],"links":{"slot3":"web","slot1":"db"},"paused":["slot2"]}\n',
        );
    });

    test("each operation merges; a slot started again leaves it; empty, the file goes", () => {
        const j = Journal.open(layout);
        j.change({ slot3: "web", slot1: "db" });
        expect(j.data).toEqual({ stopped: ["slot1", "slot3"], links: { slot3: "web", slot1: "db" }, paused: [] });
        j.stop(["slot2", "slot1"]);
        expect(j.data.stopped).toEqual(["slot1", "slot2", "slot3"]);
        j.unlink(["slot3"]);
        expect(j.data.links).toEqual({ slot1: "db" });
        j.started(["slot1", "slot3"]);
        expect(j.data).toEqual({ stopped: ["slot2"], links: {}, paused: [] });
        j.link({ slot2: "web" });
        j.started(["slot2"]);
        expect(existsSync(file())).toBe(false);
        expect(readdirSync(dir)).toEqual([]);
    });

    test("the journal before it was shared (.vm-state-apply.json) is merged once and removed", () => {
        writeFileSync(join(dir, ".vm-state-apply.json"), '{"stopped":["slot2",7]}');
        writeFileSync(file(), '{"stopped":["slot1"],"links":{},"paused":[]}\n');
        const j = Journal.open(layout);
        expect(j.data.stopped).toEqual(["slot1", "slot2"]);
        expect(existsSync(join(dir, ".vm-state-apply.json"))).toBe(false);
        expect(JSON.parse(readFileSync(file(), "utf8")).stopped).toEqual(["slot1", "slot2"]);
    });

    test("a journal that is not one stops the change, naming it; one that is a link is refused", () => {
        writeFileSync(file(), '{"stopped": "slot1"}');
        expect(() => Journal.open(layout)).toThrow(`cannot read the journal ${file()}; fix or remove it`);
        rmSync(file());
        mkdirSync(join(dir, "x"));
        symlinkSync(join(dir, "x/j"), file());
        expect(() => Journal.open(layout)).toThrow(expect.objectContaining({ code: 4 }));
    });

    test("a write that fails says so and keeps the journal it had", () => {
        const j = Journal.open(layout);
        j.stop(["slot1"]);
        mkdirSync(join(dir, "blocker"));
        const before = readFileSync(file(), "utf8");
        rmSync(file());
        mkdirSync(file()); // the rename over a directory fails
        expect(() => j.stop(["slot2"])).toThrow(`cannot write the journal ${file()}: `);
        expect(j.data.stopped).toEqual(["slot1"]);
        expect(before).toBe('{"stopped":["slot1"],"links":{},"paused":[]}\n');
        expect(
            readdirSync(dir).filter((f) => f.startsWith(".vm-state-journal.") && f !== ".vm-state-journal.json"),
        ).toEqual([]);
    });
});
