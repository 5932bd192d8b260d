/** infra.json as vm-state reads it: the program's types, defaults and limits (lib/deploymentData.ts). */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { guestDataLabel, safetySnapshotDefaults } from "../../../lib/deploymentData";
import { loadConfig } from "../../../vm-state/src/config";
import { readEnv } from "../../../vm-state/src/env";
import { infraJson } from "./harness";

describe("loadConfig", () => {
    let dir: string;
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "vm-state-config-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const load = (text: string, env: Record<string, string> = {}) => {
        writeFileSync(join(dir, "infra.json"), text);
        return loadConfig(readEnv({ VM_STATE_CONFIG: join(dir, "infra.json"), ...env }));
    };

    test("the fields vm-state uses, with the program's defaults where absent", () => {
        const c = load(
            JSON.stringify({ version: 1, storage: { backend: "xfs" }, slots: [{ name: "slot1" }, { name: "web2" }] }),
        );
        expect(c).toMatchObject({
            backend: "xfs",
            pool: "",
            dataLabel: guestDataLabel,
            safetySnapshots: safetySnapshotDefaults,
            slots: ["slot1", "web2"],
        });
        expect(load(infraJson("zfs", ["a"]), { VM_STATE_BACKEND: "files" }).backend).toBe("files");
    });

    test.each([
        ["not JSON", "{"],
        ["version 2", JSON.stringify({ version: 2, slots: [] })],
        ["no slots", JSON.stringify({ version: 1 })],
        ["an array", "[]"],
    ])("%s: not valid infra.json version 1 (exit 1)", (_, text) => {
        expect(() => load(text)).toThrow(
            expect.objectContaining({
                code: 1,
                message: `${join(dir, "infra.json")} is not valid infra.json version 1`,
            }),
        );
    });

    test("an unreadable file or a directory names the file and VM_STATE_CONFIG", () => {
        expect(() => loadConfig(readEnv({ VM_STATE_CONFIG: join(dir, "missing.json") }))).toThrow(
            `cannot read deployment data ${join(dir, "missing.json")} (set VM_STATE_CONFIG)`,
        );
        mkdirSync(join(dir, "d.json"));
        expect(() => loadConfig(readEnv({ VM_STATE_CONFIG: join(dir, "d.json") }))).toThrow(
            "cannot read deployment data",
        );
    });

    test.each([
        [{ keep: 0 }, ".storage.safetySnapshots.keep must be a whole number from 1, got '0'"],
        [{ keep: 2.5 }, ".storage.safetySnapshots.keep must be a whole number from 1, got '2.5'"],
        [{ keep: "5" }, ".storage.safetySnapshots.keep must be a whole number from 1, got '5'"],
        [{ keep: 5000 }, ".storage.safetySnapshots.keep must be at most 1000, got '5000'"],
        [{ maxAgeDays: -1 }, ".storage.safetySnapshots.maxAgeDays must be a whole number from 1, got '-1'"],
    ])("safetySnapshots %j is refused naming the key", (safety, message) => {
        expect(() =>
            load(JSON.stringify({ version: 1, storage: { backend: "files", safetySnapshots: safety }, slots: [] })),
        ).toThrow(message);
    });

    test("bad slot names, backends and a zfs backend without a pool are refused", () => {
        expect(() => load(infraJson("files", ["Slot1"]))).toThrow("invalid slot name 'Slot1'");
        expect(() => load(infraJson("nfs", []))).toThrow(
            "unknown backend 'nfs' (VM_STATE_BACKEND or .storage.backend): use zfs, xfs or files",
        );
        expect(() => load(JSON.stringify({ version: 1, storage: { backend: "zfs", pool: "" }, slots: [] }))).toThrow(
            ".storage.pool is empty but the backend is zfs",
        );
    });
});
