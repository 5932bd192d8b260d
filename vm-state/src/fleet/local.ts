/**
 * The fleet commands that act on this host alone: `fleet-cancel STATE` (on the source: undo a
 * move out of this host that the target cannot finish) and `replica-promote STATE [--as NAME]`
 * (on the target: a replica held here becomes a state). Both under the move's or the replica's
 * transfer lock and the main lock, after a change's checks (a linked states/.replicas or record
 * directory is refused before anything is read through it).
 */
import { expectCount, parseArgs } from "../args";
import { needNewState } from "../checks";
import { loadConfig } from "../config";
import { openChange, openView } from "../context";
import { conflict } from "../errors";
import { checkName } from "../names";
import { Run } from "../run";
import { openFleetStorage } from "../storage/fleet";
import { shown } from "../text";
import { recordRun, readFleet } from "./config";
import { fleetLock } from "./locks";
import { cancelMove } from "./serve";

export async function fleetCancel(run: Run, argv: readonly string[]): Promise<void> {
    recordRun(run);
    const args = parseArgs({}, argv);
    expectCount(args, 1);
    const state = args.positional[0];
    checkName("state", state, `${run.env.root}/states`);
    const config = loadConfig(run.env);
    const self = readFleet(config, run.env.backend).self.name;
    const view = openView(run, config);
    await fleetLock(run, view.proc, view.layout, "out", state, `a move of state ${state} out of ${self}`);
    const locked = await openChange(run);
    const record = locked.records.get("out", state);
    if (record === undefined) {
        throw conflict(`no move of state ${state} out of ${self} is in progress`);
    }
    run.log(
        `cancelling the move of ${state} to ${String(record.to)} (run 'vm-state fleet-pull ${state} --from ${self} --abort' there)`,
    );
    await cancelMove(locked, await openFleetStorage(locked, locked.driver), state, self);
}

export async function replicaPromote(run: Run, argv: readonly string[]): Promise<void> {
    recordRun(run);
    const args = parseArgs({ values: ["--as"] }, argv);
    expectCount(args, 1);
    const state = args.positional[0];
    const name = args.values.get("--as") ?? state;
    checkName("state", state, `${run.env.root}/states`);
    checkName("state", name, `${run.env.root}/states`);
    const config = loadConfig(run.env);
    const fleet = readFleet(config, run.env.backend);
    const view = openView(run, config);
    await fleetLock(
        run,
        view.proc,
        view.layout,
        "replica",
        state,
        `a replication of state ${state} into ${fleet.self.name}`,
    );
    const locked = await openChange(run);
    const storage = await openFleetStorage(locked, locked.driver);
    if (!(await storage.replicaExists(state))) {
        throw conflict(`no replica of state ${shown(state)} here (see: vm-state list --all)`);
    }
    await needNewState(locked, name, false);
    const from = locked.records.get("replicas", state)?.from;
    await storage.replicaPromote(state, name);
    locked.records.remove("replicas", state);
    run.log(
        `the replica of ${state}${typeof from === "string" ? ` from ${from}` : ""} is now the state ${name} here; its earlier copies are its snapshots replica-*; run it: vm-state assign SLOT ${name}`,
    );
}
