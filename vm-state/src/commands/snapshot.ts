/**
 * `snapshot STATE SNAP [--stop] [--if-missing] [--json]`: a snapshot, and the consistency it
 * achieved (docs/vm-state.md "Snapshots of a running slot"): no slot runs the state: consistent;
 * a running slot on files/xfs is paused for the copy (crash-consistent); zfs snapshots are atomic
 * (crash-consistent); `--stop` stops the slot for it and starts it again (application-consistent).
 */
import { expectCount, parseArgs } from "../args";
import { needState } from "../checks";
import { Change, openChange } from "../context";
import { conflict, fail } from "../errors";
import { checkName } from "../names";
import { renderJson } from "../output/table";
import { Run } from "../run";
import { shown } from "../text";

/** Pauses SLOT for ACTION (the journal lists it, so a killed run's next change resumes it). */
export async function whilePaused(ch: Change, slot: string, action: () => Promise<void>): Promise<void> {
    const { run, slots, journal } = ch;
    journal.pause([slot]);
    const socket = slots.apiSocket(slot);
    const failed = await slots.hypervisor(slot, "pause");
    if (failed !== undefined) {
        journal.resumed([slot]);
        throw fail(
            `could not pause ${slot} through ${socket}: ${failed}; no snapshot taken (--stop takes one with the VM stopped)`,
        );
    }
    const undo = run.onFailure(async () => {
        if ((await slots.hypervisor(slot, "resume")) === undefined) {
            run.log(`resumed ${slot} after the failure`);
            journal.resumed([slot]);
        } else {
            run.log(
                `could not resume ${slot}; the next vm-state change retries (or: ${run.env.commands.chRemote} --api-socket ${socket} resume)`,
            );
        }
    });
    await run.phase("paused");
    await action();
    const resumeFailed = await slots.hypervisor(slot, "resume");
    if (resumeFailed !== undefined) {
        undo.dismiss();
        throw fail(
            `could not resume ${slot}: ${resumeFailed}; it is still paused (the next vm-state change retries, or: ${run.env.commands.chRemote} --api-socket ${socket} resume)`,
        );
    }
    undo.dismiss();
    journal.resumed([slot]);
}

export async function snapshot(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({ flags: ["--if-missing", "--stop", "--json"] }, argv);
    expectCount(args, 2);
    const [state, snap] = args.positional;
    checkName("state", state, `${run.env.root}/states`);
    checkName("snapshot", snap, `${run.env.root}/states`);
    const ch = await openChange(run);
    const { slots, driver, journal } = ch;
    await needState(ch, state);
    if (await driver.snapshotExists(state, snap)) {
        if (args.flags.has("--if-missing")) {
            run.log(`snapshot ${state}@${snap} exists; nothing to do`);
            return;
        }
        throw conflict(`snapshot ${shown(`${state}@${snap}`)} already exists`);
    }
    const obstacle = await driver.snapshotObstacle(state, snap);
    if (obstacle !== undefined) {
        throw conflict(obstacle);
    }
    const slot = slots.slotOf(state);
    const running = slot !== undefined && (await slots.isRunning(slot)) ? slot : undefined;
    let level: string;
    let how: string;
    if (running === undefined) {
        await driver.snapshot(state, snap);
        [level, how] = ["consistent", `no slot runs ${state}`];
    } else if (args.flags.has("--stop")) {
        journal.stop([running]);
        const rollback = run.onFailure(async () => {
            run.log(`starting ${running} again on the disk it had, after the failure`);
            await slots.start(running);
            journal.started([running]);
        });
        await slots.stop(running);
        await run.phase("stopped");
        await driver.snapshot(state, snap);
        rollback.dismiss();
        await slots.start(running);
        journal.started([running]);
        await slots.waitRunning([running]);
        [level, how] = ["application-consistent", `${running} was stopped cleanly for it and started again`];
    } else if (driver.live === "atomic") {
        await driver.snapshot(state, snap);
        [level, how] = ["crash-consistent", `an atomic ZFS snapshot while ${running} runs`];
    } else {
        const start = process.hrtime.bigint();
        await whilePaused(ch, running, () => driver.snapshot(state, snap));
        const ms = Number((process.hrtime.bigint() - start) / 1000000n);
        [level, how] = ["crash-consistent", `${running} was paused for ${ms} ms`];
    }
    run.log(`snapshot ${state}@${snap} taken: ${level} (${how})`);
    if (args.flags.has("--json")) {
        run.out(renderJson({ state, snapshot: snap, consistency: level, how }));
    }
}
