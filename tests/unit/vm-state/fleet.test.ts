/** The fleet's config (`.fleet` of infra.json, checked by the program's rules) and its records. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { HostConfig } from "../../../vm-state/src/config";
import { configuredKeep, readFleet } from "../../../vm-state/src/fleet/config";
import { FleetRecords } from "../../../vm-state/src/fleet/records";
import { Layout } from "../../../vm-state/src/layout";
import { Root } from "../../../vm-state/src/root";
import { movedCopyName } from "../../../vm-state/src/storage/files";

const fleet = (over: Record<string, unknown> = {}) => ({
    self: "main",
    hosts: [
        { name: "main", address: "10.0.0.1", backend: "files" },
        { name: "big", address: "big.internal", backend: "xfs" },
    ],
    transferKeyFile: "/k",
    transferPublicKey: "ssh-ed25519 AAAA",
    replicas: [{ state: "web", from: "main", to: "big", every: "15m", keep: { hourly: 24, daily: 7 } }],
    ...over,
});
const config = (doc: Record<string, unknown>): HostConfig => ({
    path: "/etc/infra.json",
    backend: "files",
    pool: "",
    dataLabel: "vmstate",
    safetySnapshots: { keep: 5, maxAgeDays: 7 },
    slots: [],
    document: doc,
});

describe("readFleet", () => {
    test("the hosts, this one, the key and the replicas' keep counts (absent counts are 0)", () => {
        const f = readFleet(config({ fleet: fleet() }));
        expect(f.self).toEqual({ name: "main", address: "10.0.0.1", backend: "files" });
        expect(f.hosts.map((h) => h.name)).toEqual(["main", "big"]);
        expect(f.transferKeyFile).toBe("/k");
        expect(configuredKeep(f, "web", "big")).toEqual({ hourly: 24, daily: 7, weekly: 0, monthly: 0 });
        expect(configuredKeep(f, "web", "main")).toBeUndefined();
    });

    test("no .fleet: not part of a fleet (exit 4)", () => {
        expect(() => readFleet(config({}))).toThrow(
            expect.objectContaining({
                code: 4,
                message: "/etc/infra.json has no .fleet: this host is not part of a fleet (a one-host stack)",
            }),
        );
    });

    test.each([
        [
            { hosts: [{ name: "states", address: "a", backend: "files" }] },
            '.fleet.hosts[0].name: host name "states" is reserved',
        ],
        [
            { hosts: [{ name: "a-very-long-h", address: "a", backend: "files" }] },
            ".fleet.hosts[0].name: host name must be at most 12 characters",
        ],
        [
            { hosts: [{ name: "main", address: "-oProxyCommand=x", backend: "files" }] },
            ".fleet.hosts[0].address: host main has an invalid address '-oProxyCommand=x'",
        ],
        [
            { hosts: [{ name: "main", address: "a", backend: "nfs" }] },
            ".fleet.hosts[0].backend: host main has an unknown backend 'nfs'",
        ],
        [
            {
                hosts: [
                    { name: "main", address: "a", backend: "files" },
                    { name: "main", address: "b", backend: "files" },
                ],
            },
            ".fleet.hosts[1].name: host main is listed twice",
        ],
        [{ self: "other" }, ".fleet.self 'other' is not one of .fleet.hosts (main big)"],
        [{ self: "big" }, ".fleet.hosts says big uses xfs, .storage.backend says files"],
        [{ transferKeyFile: "" }, ".fleet.transferKeyFile must name the fleet's transfer key"],
        [
            { replicas: [{ state: "web", from: "main", to: "big", keep: { daily: -1 } }] },
            ".fleet.replicas[0].keep.daily must be a whole number from 0 to 99999, got '-1'",
        ],
        [{ hosts: [] }, ".fleet.hosts must be a list of hosts"],
    ])("%j is refused naming the key (exit 1)", (over, message) => {
        expect(() => readFleet(config({ fleet: fleet(over) }))).toThrow(
            expect.objectContaining({ code: 1, message: expect.stringContaining(`/etc/infra.json: ${message}`) }),
        );
    });

    test("VM_STATE_BACKEND lets a host run another backend than .fleet says (the tests do)", () => {
        expect(readFleet(config({ fleet: fleet({ self: "big" }) }), "files").self.name).toBe("big");
    });
});

describe("FleetRecords", () => {
    let dir: string;
    let records: FleetRecords;
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "vm-state-fleet-"));
        records = new FleetRecords(new Layout(new Root(dir)));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    test("put merges into the record, written anew (no temporary file left); remove deletes it", () => {
        records.put("in", "web", { from: "main", phase: "copying" });
        records.put("in", "web", { phase: "copied" });
        expect(records.get("in", "web")).toEqual({ from: "main", phase: "copied" });
        expect(readdirSync(join(dir, ".vm-state-fleet/in"))).toEqual(["web.json"]);
        expect(readdirSync(join(dir, ".vm-state-fleet")).sort()).toEqual([
            "in",
            "locks",
            "moved",
            "out",
            "replicas",
            "replicated",
        ]);
        records.remove("in", "web");
        expect(records.get("in", "web")).toBeUndefined();
        records.remove("in", "web");
    });

    test("a linked record directory is refused, nothing written through it (exit 4)", () => {
        const outside = join(dir, "..", `${dir.split("/").pop()}-outside`);
        mkdirSync(outside);
        try {
            mkdirSync(join(dir, ".vm-state-fleet"));
            symlinkSync(outside, join(dir, ".vm-state-fleet/moved"));
            expect(() => records.put("moved", "web", { to: "big" })).toThrow(
                expect.objectContaining({
                    code: 4,
                    message: expect.stringContaining(".vm-state-fleet/moved is a symbolic link"),
                }),
            );
            expect(readdirSync(outside)).toEqual([]);
        } finally {
            rmSync(outside, { recursive: true, force: true });
        }
    });

    test("a killed put's temporary file is removed by leftovers; needNotArriving exempts the state being placed", () => {
        records.put("in", "web", { from: "main" });
        writeFileSync(join(dir, ".vm-state-fleet/in/.tmp-web.json.AbCdEf"), "{");
        expect(records.list("in")).toEqual(["web"]);
        expect(records.leftovers()).toEqual([join(dir, ".vm-state-fleet/in/.tmp-web.json.AbCdEf")]);
        expect(() => records.needNotArriving("web")).toThrow("state web is arriving from main");
        expect(() => records.needNotArriving("web", "web")).not.toThrow();
    });

    test("fleet.log: one line a request, anything not printable as '?'", () => {
        records.ready();
        records.log("127.0.0.1", "refused: 'a\u001b[2Jb'", new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
        records.log("", "request: status");
        const lines = readFileSync(join(dir, ".vm-state-fleet/fleet.log"), "utf8").split("\n");
        expect(lines[0]).toBe("2026-01-02T03:04:05Z 127.0.0.1 refused: 'a?[2Jb'");
        expect(lines[1]).toMatch(/^\S+Z - request: status$/);
    });
});

describe("movedCopyName", () => {
    test.each([
        ["/r/states/.moved/web.20250101000000", "web.20250101000000"],
        ["/r/states/.moved/web.20250101000000-2", "web.20250101000000-2"],
        ["/r/states/.moved/../../outside/victim", undefined],
        ["/r/states/.moved/web.20250101000000/../../x", undefined],
        ["/r/states/web", undefined],
        ["/r/states/.moved/Web.20250101000000", undefined],
    ])("%s -> %s", (hidden, name) => {
        expect(movedCopyName(hidden, "/r/states/.moved/")).toBe(name);
    });
});
