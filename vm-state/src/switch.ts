/**
 * Making slots run states (docs/vm-state.md "apply"): the one routine behind `assign`, `migrate`,
 * `apply` and recovery. Only slots whose state differs are touched; each is stopped once, the
 * state it leaves gets a safety snapshot, the links of all changed slots are removed before any
 * is made again (so no state is ever linked from two slots, not even half-way through a swap),
 * then they are started and must come up.
 *
 * The journal lists the slots stopped and the links to make before anything stops, so any later
 * change finishes a killed one. A failure before the links change starts again what ran, on the
 * disk it had, and forgets the change (nothing carries it out later); once the links have
 * changed, the change is finished forward. A slot whose start fails is reported and forgotten by
 * the journal: it never blocks the next change.
 */
import { checkLinkable, checkSlotDisk, needState } from "./checks";
import { Change } from "./context";
import { conflict, fail, Interrupted, VmStateError } from "./errors";
import { checkName } from "./names";
import { pruneSafetySnapshots, SafetyReason, takeSafetySnapshot } from "./safety";

export interface SwitchOptions {
    readonly why: SafetyReason;
    /** Finishing what the journal lists: start problems are warnings, the command goes on. */
    readonly recovering?: boolean;
    /** Journaled slots the running command sets itself: not started here. */
    readonly superseded?: ReadonlySet<string>;
    /** Told which slots will change (and what they run now) once the request checked out, before anything stops. */
    readonly announce?: (changed: readonly string[], current: ReadonlyMap<string, string | undefined>) => void;
}

export async function switchSlots(
    ch: Change,
    pairs: readonly (readonly [string, string])[],
    opts: SwitchOptions,
): Promise<void> {
    const { run, slots, driver, journal, records } = ch;
    const want = new Map<string, string>();
    for (const [slot, state] of pairs) {
        checkName("slot", slot, ch.layout.statesDir);
        checkName("state", state, ch.layout.statesDir);
        want.set(slot, state);
    }
    for (const slot of want.keys()) {
        slots.need(slot);
    }
    const owner = new Map<string, string>();
    for (const slot of slots.names.filter((s) => want.has(s))) {
        const state = want.get(slot)!;
        await needState(ch, state);
        records.needNotLeaving(state);
        const other = owner.get(state);
        if (other !== undefined) {
            throw conflict(
                `state ${state} is requested for both ${other} and ${slot}; a state runs on one slot at most`,
            );
        }
        owner.set(state, slot);
    }
    const current = new Map(slots.names.map((s) => [s, slots.stateOf(s)]));
    for (const slot of slots.names) {
        const state = current.get(slot);
        if (!want.has(slot) && state !== undefined && owner.has(state)) {
            throw conflict(
                `state ${state} is attached to ${slot}; it cannot also run on ${owner.get(state)} (assign ${slot} another state in the same request)`,
            );
        }
    }

    const changed = slots.names.filter((s) => want.has(s) && current.get(s) !== want.get(s));
    const pending = journal.data.stopped.filter((s) => !opts.superseded?.has(s));
    // Recovery starts what the journal lists as stopped (a link without a stop is an adopt of a
    // slot that did not run); a command starts every slot it changes.
    const toStart = slots.names.filter((s) => (changed.includes(s) && !opts.recovering) || pending.includes(s));
    if (changed.length === 0 && toStart.length === 0) {
        run.log("nothing to change");
        return;
    }
    for (const slot of changed) {
        checkSlotDisk(ch, slot);
        checkLinkable(ch, slot);
    }
    opts.announce?.(changed, current);
    const wasRunning = new Set<string>();
    for (const slot of changed) {
        if (await slots.isRunning(slot)) {
            wasRunning.add(slot);
        }
    }
    journal.change(Object.fromEntries(changed.map((s) => [s, want.get(s)!])));

    // Until a slot's link is removed, a failure starts it again (if it ran) on the disk it had,
    // and the journal forgets it: the change is not carried out by a later command.
    const unlinked = new Set<string>();
    const rollback = run.onFailure(async () => {
        const forget: string[] = [];
        const notStarted: string[] = [];
        for (const slot of changed.filter((s) => !unlinked.has(s))) {
            if (wasRunning.has(slot)) {
                run.log(`starting ${slot} again on the disk it had, after the failure`);
                try {
                    await slots.start(slot);
                } catch (err) {
                    run.log(err instanceof VmStateError ? err.message : String(err));
                    notStarted.push(slot);
                    continue;
                }
            }
            forget.push(slot);
        }
        // "forget" first: when every slot runs again the journal is only removed, which works even
        // on the full disk that may have caused the failure.
        journal.started(forget);
        journal.unlink(notStarted);
    });
    for (const slot of changed) {
        await slots.stop(slot);
    }
    await run.phase("stopped");
    for (const slot of changed) {
        const state = current.get(slot);
        if (state !== undefined && (await driver.exists(state))) {
            await takeSafetySnapshot(run, driver, state, opts.why);
        }
    }
    await run.phase("snapshotted");
    for (const slot of changed) {
        slots.unlink(slot);
        unlinked.add(slot);
    }
    rollback.dismiss();
    await run.phase("unlinked");
    for (const slot of changed) {
        slots.link(slot, want.get(slot)!);
        run.log(`${slot} -> ${want.get(slot)}`);
    }
    await run.phase("linked");
    journal.started(changed.filter((s) => !toStart.includes(s))); // linked, and not to start: done
    await startAll(ch, toStart, opts.recovering === true);
    await pruneSafetySnapshots(run, driver, ch.config);
}

/**
 * Starts the slots, then waits for them. Every slot tried leaves the journal whatever happened:
 * a start that fails is reported (a warning while recovering), never retried by a later command.
 */
async function startAll(ch: Change, toStart: readonly string[], recovering: boolean): Promise<void> {
    const { run, slots, journal } = ch;
    const started: string[] = [];
    const problems: string[] = [];
    for (const slot of toStart) {
        try {
            await slots.start(slot);
            started.push(slot);
        } catch (err) {
            if (!(err instanceof VmStateError) || err instanceof Interrupted) {
                throw err;
            }
            problems.push(err.message);
        }
    }
    journal.started([...toStart]);
    try {
        await slots.waitRunning(started);
    } catch (err) {
        if (!(err instanceof VmStateError) || err instanceof Interrupted) {
            throw err;
        }
        problems.push(err.message);
    }
    if (problems.length === 0) {
        return;
    }
    if (recovering) {
        for (const problem of problems) {
            run.log(`warning: ${problem}`);
        }
        return;
    }
    throw fail(problems.join("; "));
}
