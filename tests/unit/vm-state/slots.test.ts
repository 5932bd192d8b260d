/** A slot's disk link and microvm.nix's runner links, read as links, never followed into the root. */
import { mkdirSync, readlinkSync, symlinkSync, writeFileSync } from "fs";
import { join } from "path";
import { loadConfig } from "../../../vm-state/src/config";
import { openView } from "../../../vm-state/src/context";
import { readEnv } from "../../../vm-state/src/env";
import { systemOf } from "../../../vm-state/src/output/records";
import { Run } from "../../../vm-state/src/run";
import { Host, makeHost, removeHost } from "./harness";

describe("slots", () => {
    let h: Host;
    let log: string[];
    const view = () => {
        const run = new Run(
            readEnv(h.env),
            (t) => log.push(t.trim()),
            () => undefined,
            false,
            { ...process.env, ...h.env },
        );
        return openView(run, loadConfig(run.env));
    };
    beforeEach(() => {
        h = makeHost("files", ["slot1", "slot2", "slot3"]);
        log = [];
        mkdirSync(join(h.root, "states/web"), { recursive: true });
        writeFileSync(join(h.root, "states/web/data.img"), "");
    });
    afterEach(() => removeHost(h));

    test("the state a slot runs is the one its link names exactly; anything else is warned about once", () => {
        mkdirSync(join(h.root, "slot1"));
        mkdirSync(join(h.root, "slot2"));
        symlinkSync(join(h.root, "states/web/data.img"), join(h.root, "slot1/data.img"));
        symlinkSync("/elsewhere/data.img", join(h.root, "slot2/data.img"));
        const v = view();
        expect(v.slots.stateOf("slot1")).toBe("web");
        expect(v.slots.slotOf("web")).toBe("slot1");
        expect(v.slots.stateOf("slot2")).toBeUndefined();
        expect(v.slots.stateOf("slot2")).toBeUndefined();
        expect(v.slots.stateOf("slot3")).toBeUndefined();
        expect(log).toEqual([
            `vm-state: warning: ${join(h.root, "slot2/data.img")} points at /elsewhere/data.img, not at a state`,
        ]);
    });

    test("what is at a slot's data.img; a new link is made beside it and renamed over it", () => {
        const v = view();
        expect(v.slots.diskKind("slot1")).toBe("none");
        v.slots.link("slot1", "web");
        expect(v.slots.diskKind("slot1")).toBe("link");
        expect(readlinkSync(join(h.root, "slot1/data.img"))).toBe(join(h.root, "states/web/data.img"));
        mkdirSync(join(h.root, "slot2/data.img"), { recursive: true });
        expect(v.slots.diskKind("slot2")).toBe("directory");
        mkdirSync(join(h.root, "slot3"));
        writeFileSync(join(h.root, "slot3/data.img"), "x");
        expect(v.slots.diskKind("slot3")).toBe("file");
    });

    test("a slot's guest system from the runner links: declared, booted, up to date", () => {
        const runner = (name: string, hash: string) => {
            const dir = join(h.dir, "store", name);
            mkdirSync(join(dir, "share/microvm"), { recursive: true });
            symlinkSync(`/nix/store/${hash}-nixos-system-slot`, join(dir, "share/microvm/system"));
            return dir;
        };
        mkdirSync(join(h.root, "slot1"));
        symlinkSync(runner("new", "9f8e7d6"), join(h.root, "slot1/current"));
        expect(systemOf(view(), "slot1")).toEqual({
            declared: "/nix/store/9f8e7d6-nixos-system-slot",
            booted: null,
            upToDate: null,
        });
        symlinkSync(runner("old", "1a2b3c4"), join(h.root, "slot1/booted"));
        expect(systemOf(view(), "slot1")).toEqual({
            declared: "/nix/store/9f8e7d6-nixos-system-slot",
            booted: "/nix/store/1a2b3c4-nixos-system-slot",
            upToDate: false,
        });
        expect(systemOf(view(), "slot2")).toBeNull();
    });
});
