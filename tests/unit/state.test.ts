/**
 * States and the slot map as stack resources, and what config edits do to them
 * (`npm run plan -- --against`, through planEdit).
 */
import { checkAssignments } from "../../components/state/slotAssignments";
import { originText } from "../../components/state/vmState";
import { stateOrigin } from "../../infra/program";
import { createStateCommand, deleteStateCommand, slotsDocument } from "../../components/deploy/remoteCommands";
import { StateConfig } from "../../infra/config";
import { Change, changedPaths, commandsRun } from "../../tools/plan/diff";
import { byType, planEdit, sharedEdit } from "../helpers/stacks";

const cmdType = "command:remote:Command";
const names = (changes: Change[], type?: string) =>
    changes
        .filter((c) => !type || c.type === type)
        .map((c) => c.urn.split("::").pop())
        .sort();
/** The example with state dev's onRemove: destroy, and without state dev: each planned once. */
const destroyDev = sharedEdit((d) => {
    d.config["microvm-infra:states"].dev.onRemove = "destroy";
});
const removeDev = sharedEdit((d) => {
    delete d.config["microvm-infra:states"].dev;
});
const base: StateConfig = { name: "web", host: "main", snapshots: [], onRemove: "retain", diskGiB: 8 };

describe("state commands", () => {
    test.each([
        [base, "vm-state}\" create --if-missing 'web' --size-gib 8", "empty"],
        [{ ...base, from: { state: "slot1" } }, "vm-state}\" clone --if-missing 'slot1' 'web'", "slot1"],
        [
            { ...base, from: { state: "slot1", snapshot: "golden" } },
            "vm-state}\" restore --if-missing 'slot1@golden' 'web'",
            "slot1@golden",
        ],
    ])("%o", (state, command, origin) => {
        expect(createStateCommand(state.name, stateOrigin(state), "i-0abc")).toContain(command);
        expect(originText(stateOrigin(state))).toBe(origin);
    });

    test("delete is explicit and idempotent", () => {
        expect(deleteStateCommand("web")).toContain("delete --yes --if-exists 'web'");
    });

    test("the slot map is one sorted document", () => {
        expect(slotsDocument({ slot2: "a", slot1: "b" })).toBe('{"slots":{"slot1":"b","slot2":"a"}}\n');
    });

    test("a state in two slots, or a slot without an address, is refused", () => {
        expect(() => checkAssignments({ slot1: "a", slot2: "a" }, undefined)).toThrow(
            'state "a" is assigned to more than one slot',
        );
        expect(() => checkAssignments({ slot1: "a" }, {})).toThrow('no address for slot "slot1"');
    });
});

describe("states in the plan", () => {
    test("retain: no delete command and retainOnDelete; destroy: vm-state delete, delete before replace", async () => {
        const plan = (await destroyDev()).after;
        const r = (n: string) => byType(plan, cmdType).find((x) => x.name === n)!;
        expect(r("slot1").inputs.delete).toBeUndefined();
        expect(r("slot1").options.retainOnDelete).toBe(true);
        expect(r("slot1@golden").inputs.delete).toBeUndefined();
        expect(r("dev").inputs.delete).toContain("delete --yes --if-exists 'dev'");
        expect(r("dev").options.retainOnDelete).toBe(false);
        expect(r("dev").options.deleteBeforeReplace).toBe(true);
        expect(r("dev").inputs.triggers).toEqual(["slot1@golden"]);
    });
});

describe("config edits against the example stack", () => {
    test("no change: nothing to do", async () => {
        const { diff } = await planEdit(() => undefined);
        expect([diff.create, diff.update, diff.replace, diff.delete]).toEqual([[], [], [], []]);
    });

    test("move a state to another slot: only the assignments resource updates", async () => {
        const { diff } = await planEdit((d) => {
            d.config["microvm-infra:slots"].slot2 = { state: "dev" };
        });
        expect(names(diff.update)).toEqual(["microvm-slots"]);
        expect(diff.update[0].paths).toEqual(["stdin"]);
        expect([diff.create, diff.replace, diff.delete]).toEqual([[], [], []]);
    });

    test("swap two slots' states: one update of the map", async () => {
        const { diff } = await planEdit((d) => {
            d.config["microvm-infra:slots"].slot1 = { state: "slot2" };
            d.config["microvm-infra:slots"].slot2 = { state: "slot1" };
        });
        expect(names(diff.update)).toEqual(["microvm-slots"]);
        expect([diff.create, diff.replace, diff.delete]).toEqual([[], [], []]);
    });

    test("add slot6: the deployment and the new slot's resources only; no existing state touched", async () => {
        const { diff } = await planEdit((d) => {
            d.config["microvm-infra:slots"].slot6 = {};
        });
        expect(names(diff.create)).toEqual(["slot6", "slot6"]);
        expect(names(diff.replace, cmdType)).toEqual(["microvm-switch"]);
        expect(names(diff.update, cmdType)).toEqual(["microvm-slots"]);
        expect(diff.delete).toEqual([]);
        const touched = [...diff.update, ...diff.replace].map((c) => c.urn);
        expect(touched.filter((u) => /VmState/.test(u))).toEqual([]);
    });

    test("remove a state with retain: the stack forgets it, nothing runs on the host", async () => {
        const { before, diff } = await removeDev();
        expect(names(diff.delete)).toEqual(["dev", "dev"]);
        const cmd = diff.delete.find((c) => c.type === cmdType)!;
        expect(cmd.note).toMatch(/retainOnDelete: removed from the stack, the real resource is kept/);
        expect(byType(before, cmdType).find((r) => r.name === "dev")!.inputs.delete).toBeUndefined();
        expect([diff.create, diff.update, diff.replace]).toEqual([[], [], []]);
    });

    test("remove a state with destroy: its delete command runs", async () => {
        const before = (await destroyDev()).after;
        const old = byType(before, cmdType).find((r) => r.name === "dev")!;
        expect(old.inputs.delete).toContain("vm-state}\" delete --yes --if-exists 'dev'");
        expect(old.options.retainOnDelete).toBe(false);
    });

    test("switching onRemove is an update, never a replacement (which would run a delete)", async () => {
        const { diff } = await destroyDev();
        expect(names(diff.update)).toEqual(["dev"]);
        expect(diff.replace).toEqual([]);
    });

    test("a new source for a destroy state replaces it, deleting first", async () => {
        const { diff } = await planEdit((d) => {
            d.config["microvm-infra:states"].dev = { from: "slot2", onRemove: "destroy" };
        });
        const dev = diff.replace.find((c) => c.urn.endsWith("dev"))!;
        expect(dev.replaceBecause).toEqual(expect.arrayContaining(["triggers[0]"]));
        expect(dev.deleteBeforeReplace).toBe(true);
    });

    test("the way in moves to the tailnet: every remote command updates, so runs its create again (each is idempotent), none is replaced", async () => {
        const { before, after, diff } = await planEdit((d) => {
            d.config["microvm-infra:host"].connectVia = "tailscale";
        });
        expect(diff.replace.filter((c) => c.type === cmdType)).toEqual([]);
        const updated = diff.update.filter((x) => x.type === cmdType);
        // The tailnet status command too, in `pulumi up`; a preview ignores its connection (components/tailscale/subnetRouter.ts).
        const quietInPreview = (r: { name: string }) => r.name.endsWith("-tailscale-status");
        expect(updated.map((c) => c.urn).sort()).toEqual(
            byType(before, cmdType)
                .filter((r) => !quietInPreview(r))
                .map((r) => r.urn)
                .sort(),
        );
        for (const c of updated) {
            expect({ urn: c.urn, paths: c.paths, runs: c.runs }).toEqual({
                urn: c.urn,
                paths: ["connection"],
                runs: ["create again on the host (the command has no update)"],
            });
        }
        // And the operator's machine checks the new way in before any of them runs, in `pulumi up`: the
        // same machine (the wait's update, which meets it with the key it serves), never a
        // replacement. A preview ignores the wait's script, so its pin stays known
        // (components/deploy/reachable.ts): the offline plan shows it unchanged.
        expect(diff.replace).toEqual([]);
        expect(diff.update.filter((c) => c.type === "command:local:Command")).toEqual([]);
        const wait = (p: typeof before) => p.resources.find((r) => r.name === "microvm-ssh-ready")!;
        expect(changedPaths(wait(before).inputs, wait(after).inputs)).toEqual(["create", "update"]);
    });

    test("what runs: adding a state creates it on the host; removing a retained one runs nothing", async () => {
        const added = await planEdit((d) => {
            d.config["microvm-infra:states"].extra = { from: "slot2" };
        });
        expect(commandsRun(added.diff)).toEqual([
            { urn: expect.stringMatching(/Command::extra$/), runs: ["create on the host"] },
        ]);
        const removed = await removeDev();
        expect(commandsRun(removed.diff)).toEqual([]);
        const destroyed = await destroyDev();
        expect(commandsRun(destroyed.diff)).toEqual([
            {
                urn: expect.stringMatching(/Command::dev$/),
                runs: ["create again on the host (the command has no update)"],
            },
        ]);
    });
});
