/**
 * vm-state's commands in-process: switching slots, recovery of a journal a killed change left,
 * the fleet's records as local changes see them, the bridge to the bash fleet commands.
 */
import { execFileSync } from "child_process";
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "fs";
import { join } from "path";
import { requireTools } from "../../helpers/tools";
import { Host, makeHost, removeHost, vm } from "./harness";

const gate = requireTools(["mkfs.ext4", "flock"], "apt-get install e2fsprogs util-linux");
const running = (h: Host, slot: string) => existsSync(join(h.env.FAKE_SYSTEMCTL_DIR, `microvm@${slot}.service`));
const linkOf = (h: Host, slot: string) => readlinkSync(join(h.root, slot, "data.img"));
const img = (h: Host, state: string) => join(h.root, "states", state, "data.img");
const journal = (h: Host) => join(h.root, ".vm-state-journal.json");
const systemctlLog = (h: Host) =>
    existsSync(h.env.FAKE_SYSTEMCTL_LOG) ? readFileSync(h.env.FAKE_SYSTEMCTL_LOG, "utf8") : "";

gate.describe("commands", () => {
    let h: Host;
    beforeEach(async () => {
        h = makeHost("files");
        for (const s of ["one", "two", "three"]) {
            expect((await vm(h, "create", s, "--size-gib", "1")).code).toBe(0);
        }
    });
    afterEach(() => removeHost(h));

    test("assign, a swap by apply, nothing to change; never one state on two slots", async () => {
        expect((await vm(h, "assign", "slot1", "one")).code).toBe(0);
        expect((await vm(h, "apply", join(h.dir, "nope"))).stderr).toContain("cannot read");
        writeFileSync(join(h.dir, "map.json"), '{"slots": {"slot1": "two", "slot2": "one"}}');
        expect((await vm(h, "apply", join(h.dir, "map.json"))).code).toBe(0);
        expect([linkOf(h, "slot1"), linkOf(h, "slot2")]).toEqual([img(h, "two"), img(h, "one")]);
        expect(running(h, "slot1") && running(h, "slot2")).toBe(true);
        const again = await vm(h, "apply", join(h.dir, "map.json"));
        expect(again.stderr).toContain("nothing to change");
        const status = JSON.parse((await vm(h, "status", "--json")).stdout);
        expect(status.slots.map((s: { state: string | null }) => s.state)).toEqual(["two", "one", null]);
        expect(JSON.parse(readFileSync(join(h.root, ".vm-state-applied.json"), "utf8"))).toEqual({
            slots: { slot1: "two", slot2: "one" },
        });
    });

    test("a journal left by a killed apply is finished by an unrelated change, with a pre-recover safety snapshot", async () => {
        await vm(h, "assign", "slot1", "one");
        // As the apply killed after stopping slot1 leaves it: stopped, still on one, to be linked to two.
        await vm(h, "create", "x", "--size-gib", "1");
        execFileSync(h.env.VM_STATE_SYSTEMCTL, ["stop", "microvm@slot1.service"], {
            env: { ...process.env, ...h.env },
        });
        writeFileSync(journal(h), '{"stopped":["slot1"],"links":{"slot1":"two"},"paused":[]}\n');
        const r = await vm(h, "create", "y", "--size-gib", "1");
        expect(r.code).toBe(0);
        expect(r.stderr).toContain("an interrupted vm-state command left slot1 stopped: finishing it first");
        expect(linkOf(h, "slot1")).toBe(img(h, "two"));
        expect(running(h, "slot1")).toBe(true);
        expect(existsSync(journal(h))).toBe(false);
        const snaps = JSON.parse((await vm(h, "snapshots", "one", "--json")).stdout).snapshots;
        expect(snaps.map((s: { name: string }) => s.name)).toEqual([
            expect.stringMatching(/^pre-recover-\d{8}-\d{6}$/),
        ]);
    });

    test("a journal naming a state removed by hand stops other changes, naming the journal; the assign of that slot fixes it", async () => {
        await vm(h, "assign", "slot1", "one");
        writeFileSync(journal(h), '{"stopped":["slot1"],"links":{"slot1":"gone"},"paused":[]}\n');
        const blocked = await vm(h, "create", "x", "--size-gib", "1");
        expect(blocked.code).toBe(4);
        expect(blocked.stderr).toContain("unknown state 'gone'");
        expect(blocked.stderr).toContain(
            `could not finish the change that an interrupted vm-state command recorded in ${journal(h)}`,
        );
        const fix = await vm(h, "assign", "slot1", "three");
        expect(fix.code).toBe(0);
        expect(linkOf(h, "slot1")).toBe(img(h, "three"));
        expect(existsSync(journal(h))).toBe(false);
    });

    test("a paused VM the journal lists is resumed by the next change", async () => {
        await vm(h, "assign", "slot1", "one");
        mkdirSync(h.env.FAKE_CH_REMOTE_DIR, { recursive: true });
        writeFileSync(join(h.env.FAKE_CH_REMOTE_DIR, "slot1.paused"), "");
        writeFileSync(journal(h), '{"stopped":[],"links":{},"paused":["slot1"]}\n');
        const r = await vm(h, "gc");
        expect(r.stderr).toContain("resuming slot1, left paused by an interrupted snapshot");
        expect(existsSync(join(h.env.FAKE_CH_REMOTE_DIR, "slot1.paused"))).toBe(false);
        expect(existsSync(journal(h))).toBe(false);
    });

    test("a state leaving for another host or arriving from one is refused by local changes (exit 4)", async () => {
        mkdirSync(join(h.root, ".vm-state-fleet/out"), { recursive: true });
        mkdirSync(join(h.root, ".vm-state-fleet/in"), { recursive: true });
        writeFileSync(join(h.root, ".vm-state-fleet/out/one.json"), '{"to": "big", "phase": "copying"}');
        writeFileSync(join(h.root, ".vm-state-fleet/in/web.json"), '{"from": "main", "phase": "copied"}');
        expect(await vm(h, "assign", "slot1", "one")).toMatchObject({
            code: 4,
            stderr: expect.stringContaining(
                "state one is being moved to big (vm-state fleet-cancel one keeps it here)",
            ),
        });
        expect(await vm(h, "delete", "one", "--yes")).toMatchObject({ code: 4 });
        expect(await vm(h, "create", "web", "--size-gib", "1")).toMatchObject({
            code: 4,
            stderr: expect.stringContaining("state web is arriving from main"),
        });
        const all = JSON.parse((await vm(h, "list", "--all", "--json")).stdout);
        expect(all.hidden).toEqual([
            { name: join(h.root, "states/.fleet-in-web"), was: "web (arriving from main: copied)", heldBy: [] },
        ]);
        expect(systemctlLog(h)).toBe("");
    });

    test("metrics in-process: the families and a last-operation record per change", async () => {
        await vm(h, "assign", "slot1", "one");
        const r = await vm(h, "metrics");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('vm_state_state_info{state="one",slot="slot1"} 1');
        expect(r.stdout).toContain('vm_state_last_operation_exit_code{command="assign"} 0');
        expect(JSON.parse(readFileSync(join(h.root, ".vm-state-metrics/last-create.json"), "utf8"))).toMatchObject({
            command: "create",
            exitCode: 0,
        });
    });

    test("the fleet commands run in TypeScript: on a host without .fleet they exit 4 saying so, recorded for metrics", async () => {
        const r = await vm(h, "fleet-pull", "web", "--from", "big");
        expect(r.code).toBe(4);
        expect(r.stderr).toContain("has no .fleet: this host is not part of a fleet (a one-host stack)");
        expect(JSON.parse(readFileSync(join(h.root, ".vm-state-metrics/last-fleet-pull.json"), "utf8"))).toMatchObject({
            exitCode: 4,
        });
        expect((await vm(h, "replicate", "one", "--to", "big")).code).toBe(4);
        expect((await vm(h, "fleet-cancel", "one")).code).toBe(4);
        expect((await vm(h, "replica-promote", "one")).code).toBe(4);
        // gc --fleet-moved needs no .fleet: the copies of earlier moves are this host's.
        expect((await vm(h, "gc", "--fleet-moved", "web")).code).toBe(0);
    });
});
