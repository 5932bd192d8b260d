/**
 * `fleet-pull STATE (--from HOST | --from-any) [--slot SLOT] [--json]`, run on the target: moves
 * a state here from another host of the fleet. The record `.vm-state-fleet/in/<state>.json` says
 * how far it got, so a killed run is finished by the next one:
 *
 *   copying    the first copy streams while the state runs on the source
 *   copied     the source is asked to stop the slot and release the state (stop-and-release)
 *   released   the catch-up streams what changed since (the source stays stopped)
 *   caught-up  the copy is renamed to the state's name here
 *   placed     the slot (--slot) gets it, then the source hides its copy (finish-move)
 *
 * A catch-up that fails starts the state on the source again (cancel-move), so a failed move
 * never leaves the VM down. `--abort` rolls a move back on both ends while it can.
 */
import { parseArgs } from "../args";
import { needNewState } from "../checks";
import { loadConfig } from "../config";
import { Change, openChange, openView, View } from "../context";
import { conflict, fail, UsageError } from "../errors";
import { checkName } from "../names";
import { Run } from "../run";
import { FleetStorage, openFleetStorage, Which } from "../storage/fleet";
import { switchSlots } from "../switch";
import { humanSize, shown } from "../text";
import { nowSeconds } from "../time";
import { backendFamily, recordRun, FleetConfig, readFleet } from "./config";
import { fleetLock } from "./locks";
import { FleetRecord } from "./records";
import { rsyncCopy } from "./rsync";
import { Transport } from "./transport";

const text = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

class Pull {
    constructor(
        private readonly run: Run,
        private readonly view: View,
        private readonly fleet: FleetConfig,
        private readonly storage: FleetStorage,
        private readonly transport: Transport,
        private readonly state: string,
        private readonly from: string,
    ) {}

    private get self(): string {
        return this.fleet.self.name;
    }

    private get records() {
        return this.view.records;
    }

    private record(): FleetRecord {
        return this.records.get("in", this.state) ?? {};
    }

    private put(fields: FleetRecord): FleetRecord {
        return this.records.put("in", this.state, fields);
    }

    private change(slot?: string): Promise<Change> {
        return openChange(this.run, { supersede: slot ? [slot] : [] });
    }

    /** One stream of the move: initial (while it runs) or final (what changed, once stopped); a zfs receive cut short resumes from its token. */
    private async copy(which: Which): Promise<void> {
        const { state, from } = this;
        const [name, op, field] =
            which === "initial"
                ? ["copying", "send-snapshot", "bytesWhileRunning"]
                : ["catching-up", "send-incremental", "bytesWhileStopped"];
        const token = await this.storage.inToken(state);
        let how: Which | "resume" = which;
        let request = `${op} ${state} ${this.self}`;
        if (token !== "") {
            this.run.log(`resuming the interrupted copy of ${state} from ${from}`);
            how = "resume";
            request = `send-resume ${state} ${this.self} ${token}`;
        } else if (which === "initial") {
            await this.storage.inAbort(state);
            this.run.log(`copying ${state} from ${from} while it runs`);
        } else {
            this.run.log(`copying what changed in ${state} since, while it is stopped`);
        }
        const receiver = await this.storage.inReceiver(state, how);
        let bytes: number;
        try {
            if ("rsync" in receiver) {
                // The source records the send and says where its image is; rsync then reads it.
                const answer = await this.transport.callJson(from, request);
                if (answer.transfer !== "rsync" || answer.path !== receiver.remote) {
                    throw fail(
                        `${from} answered ${shown(request)} with something other than the rsync transfer of ${receiver.remote} (is the same vm-state installed there?)`,
                    );
                }
                bytes = await rsyncCopy(this.transport, this.run, from, receiver, "from", name);
            } else {
                bytes = await this.transport.streamFrom(from, request, name, receiver);
            }
        } catch (err) {
            await this.storage.inAfter(state, how === "resume" ? which : how, false);
            throw err;
        }
        await this.storage.inAfter(state, how === "resume" ? which : how, true);
        this.put({ [field]: num(this.record()[field]) + bytes });
        if (!(await this.storage.inComplete(state, which))) {
            throw conflict(`the ${which} copy of ${state} from ${from} is incomplete`);
        }
    }

    /** Room for the catch-up here, checked while the state still runs on the source (it stops only once the catch-up can land). */
    private async checkRoom(): Promise<void> {
        const status = await this.transport.callJson(this.from, `status ${this.state}`);
        const image = status.image as Record<string, unknown> | null | undefined;
        const room = this.storage.inRoom(this.state, num(image?.allocatedBytes));
        if (room !== undefined && room.needed > room.free) {
            throw fail(
                `not enough space in ${this.view.layout.statesDir} for the catch-up of ${this.state}: it needs up to ${humanSize(room.needed)} more, ` +
                    `${humanSize(room.free)} is free; ${this.state} runs on ${this.from} meanwhile: make room and run the same fleet-pull again`,
            );
        }
    }

    /** The catch-up failed while the source is stopped: start the state there again (the move is undone on both ends). */
    private async catchUpFailed(): Promise<void> {
        const { state, from } = this;
        this.run.log(`the catch-up of ${state} from ${from} failed; starting it again on ${from}`);
        try {
            await this.transport.call(from, `cancel-move ${state} ${this.self}`);
        } catch {
            this.run.log(
                `${from} could not start ${state} again: it is stopped there; re-run the same fleet-pull to finish the move, or run 'vm-state fleet-cancel ${state}' on ${from} and 'vm-state fleet-pull ${state} --from ${from} --abort' here`,
            );
            return;
        }
        await this.storage.inAbort(state);
        this.records.remove("in", state);
        this.run.log(
            `the move of ${state} from ${from} is undone: it runs on ${from} again; run the same fleet-pull to try again`,
        );
    }

    /** Whether the state was renamed into place by a run killed before it recorded that. */
    private async placedUnrecorded(): Promise<boolean> {
        return (
            (await this.view.driver.exists(this.state)) &&
            !(await this.storage.inComplete(this.state, "final")) &&
            (await this.storage.inToken(this.state)) === ""
        );
    }

    async abort(): Promise<void> {
        const { state, from } = this;
        const record = this.records.get("in", state);
        const phase = text(record?.phase);
        if (
            phase === "placed" ||
            (record !== undefined && (phase === "caught-up" || phase === "released") && (await this.placedUnrecorded()))
        ) {
            throw conflict(
                `the move of ${state} from ${from} is complete here already; finish it: vm-state fleet-pull ${state} --from ${from}`,
            );
        }
        if (record !== undefined && text(record.from) !== from) {
            throw conflict(`the move recorded here for ${state} is from ${text(record.from)}, not ${from}`);
        }
        const status = await this.transport.callJson(from, `status ${state}`);
        const moving = status.moving as Record<string, unknown> | null | undefined;
        if (text(moving?.to) === this.self) {
            await this.transport.call(from, `cancel-move ${state} ${this.self}`);
        }
        await this.storage.inAbort(state);
        this.records.remove("in", state);
        this.run.log(
            `the move of ${state} from ${from} is rolled back: nothing of it is here, and it stays on ${from}`,
        );
    }

    async pull(slot: string | undefined, json: boolean): Promise<void> {
        const { state, from } = this;
        const recorded = text(this.records.get("in", state)?.from);
        if (recorded !== "" && recorded !== from) {
            throw conflict(
                `an interrupted move of ${state} from ${recorded} is recorded here; finish it (vm-state fleet-pull ${state} --from ${recorded}) or abort it (--abort)`,
            );
        }
        const status = await this.transport.callJson(from, `status ${state}`);
        let resumed = false;
        if (recorded === "") {
            const ch = await this.change(slot);
            if (await ch.driver.exists(state)) {
                if (status.exists === true) {
                    throw conflict(`state ${state} exists both here and on ${from}; nothing was moved`);
                }
                if (text(status.movedTo) !== this.self) {
                    this.run.log(`state ${state} is here already and ${from} has none: nothing to move`);
                    return;
                }
                this.run.log(`state ${state} is already here (moved from ${from}); nothing to do`);
                if (slot !== undefined) {
                    await switchSlots(ch, [[slot, state]], { why: "assign" });
                }
                return this.summary(slot, { done: true, already: true }, json);
            }
            await needNewState(ch, state, false);
            ch.lock.release();
            if (status.exists !== true) {
                throw conflict(`${from} has no state ${shown(state)}`);
            }
            const moving = text((status.moving as Record<string, unknown> | null | undefined)?.to);
            if (moving !== "" && moving !== this.self) {
                throw conflict(
                    `state ${state} is being moved from ${from} to ${moving}; a state moves to one host at a time`,
                );
            }
            this.put({ from, phase: "copying", since: nowSeconds(), bytesWhileRunning: 0, bytesWhileStopped: 0 });
        } else {
            resumed = true;
            this.run.log(`resuming the move of ${state} from ${from} (phase ${text(this.record().phase)})`);
        }

        let phase = text(this.record().phase);
        if (phase === "copying") {
            await this.copy("initial");
            phase = text(this.put({ phase: "copied" }).phase);
        }
        await this.run.phase("copied");
        if (phase === "copied") {
            await this.checkRoom();
            this.put({ stoppedAt: Date.now() });
            const released = await this.transport.callJson(from, `stop-and-release ${state} ${this.self}`);
            phase = text(
                this.put({
                    phase: "released",
                    sourceSlot: released.slot ?? null,
                    sourceRan: released.wasRunning === true,
                }).phase,
            );
        }
        await this.run.phase("released");
        if (phase === "released") {
            const undo = this.run.onFailure(() => this.catchUpFailed());
            await this.copy("final");
            undo.dismiss();
            phase = text(this.put({ phase: "caught-up" }).phase);
        }
        await this.run.phase("caught-up");
        if (phase === "caught-up") {
            const ch = await this.change();
            if (await this.placedUnrecorded()) {
                // A run killed right after it renamed the copy into place: that copy is the state.
                this.run.log(`state ${state} was placed here by an interrupted run`);
            } else {
                await needNewState(ch, state, false, state);
                await this.storage.inPlace(state);
            }
            this.put({ phase: "placed" });
            this.run.log(`state ${state} is complete here`);
            ch.lock.release();
        }
        await this.run.phase("placed");
        if (slot !== undefined) {
            const ch = await this.change(slot);
            await switchSlots(ch, [[slot, state]], { why: "assign" });
            ch.lock.release();
        }
        await this.transport.call(from, `finish-move ${state} ${this.self}`);
        const record = this.record();
        this.records.remove("in", state);
        return this.summary(
            slot,
            {
                done: true,
                already: false,
                resumed,
                bytesWhileRunning: num(record.bytesWhileRunning),
                bytesWhileStopped: num(record.bytesWhileStopped),
                sourceSlot: record.sourceSlot ?? null,
                stoppedMs: record.sourceRan === true ? Date.now() - num(record.stoppedAt) : null,
            },
            json,
        );
    }

    private summary(slot: string | undefined, result: Record<string, unknown>, json: boolean): void {
        const r: Record<string, unknown> = {
            state: this.state,
            from: this.from,
            to: this.self,
            slot: slot ?? null,
            ...result,
        };
        if (r.already === true) {
            this.run.log(`state ${this.state} is already on ${this.self} (moved from ${this.from})`);
        } else {
            const stopped =
                r.stoppedMs === null
                    ? "it ran nowhere during the move"
                    : `${text(r.sourceSlot)} on ${this.from} was stopped for ${num(r.stoppedMs) / 1000} s`;
            this.run.log(
                `moved state ${this.state} from ${this.from} to ${this.self}: ${humanSize(num(r.bytesWhileRunning))} sent while it ran, ${humanSize(num(r.bytesWhileStopped))} after it stopped; ${stopped}` +
                    `${slot ? `; ${slot} runs it now` : ""}${r.resumed === true ? " (resumed an interrupted move)" : ""}`,
            );
        }
        if (json) {
            this.run.out(`${JSON.stringify(r)}\n`);
        }
    }
}

/** The other host that holds STATE for --from-any: the one an interrupted pull recorded, else the only one that has it; undefined when none (or it is here). */
async function locate(
    view: View,
    fleet: FleetConfig,
    transport: Transport,
    state: string,
): Promise<string | undefined> {
    const recorded = text(view.records.get("in", state)?.from);
    if (recorded !== "") {
        return recorded;
    }
    if (await view.driver.exists(state)) {
        return undefined;
    }
    const found: string[] = [];
    for (const host of fleet.hosts) {
        if (host.name !== fleet.self.name && (await transport.callJson(host.name, `status ${state}`)).exists === true) {
            found.push(host.name);
        }
    }
    if (found.length > 1) {
        throw conflict(
            `state ${state} is on several hosts (${found.join(" ")}); pull it from one explicitly (vm-state fleet-pull ${state} --from HOST)`,
        );
    }
    return found[0];
}

export async function fleetPull(run: Run, argv: readonly string[]): Promise<void> {
    recordRun(run);
    const args = parseArgs({ flags: ["--json", "--abort", "--from-any"], values: ["--from", "--slot"] }, argv);
    if (args.positional.length !== 1) {
        throw new UsageError(`expected 1 argument(s), got ${args.positional.length}`);
    }
    const statesDir = `${run.env.root}/states`;
    const state = args.positional[0];
    checkName("state", state, statesDir);
    let from = args.values.get("--from");
    const slot = args.values.get("--slot");
    const fromAny = args.flags.has("--from-any");
    const abort = args.flags.has("--abort");
    if (fromAny && from !== undefined) {
        throw new UsageError("--from and --from-any exclude each other");
    }
    if (fromAny && abort) {
        throw new UsageError("--abort needs --from HOST");
    }
    if (from === undefined && !fromAny) {
        throw new UsageError("fleet-pull needs --from HOST (the host that holds the state now) or --from-any");
    }
    if (slot !== undefined) {
        checkName("slot", slot, statesDir);
    }
    if (abort && slot !== undefined) {
        throw new UsageError("--abort takes no --slot");
    }
    const config = loadConfig(run.env);
    const fleet = readFleet(config, run.env.backend);
    const view = openView(run, config);
    const transport = new Transport(run, fleet);
    if (from === undefined) {
        from = await locate(view, fleet, transport, state);
        if (from === undefined) {
            run.log(
                (await view.driver.exists(state))
                    ? `state ${state} is here already; nothing to move`
                    : `state ${state} is on no host of the fleet yet; nothing to move`,
            );
            return;
        }
        run.log(`state ${state} is on ${from}; pulling it here`);
    }
    checkName("host", from, statesDir);
    const peer = transport.host(from);
    if (from === fleet.self.name) {
        throw new UsageError(`${from} is this host`);
    }
    if (backendFamily(peer.backend) !== backendFamily(config.backend)) {
        throw conflict(
            `${from} uses the ${peer.backend} backend and ${fleet.self.name} ${config.backend}: states move between zfs hosts, or between files and xfs hosts`,
        );
    }
    if (slot !== undefined) {
        view.slots.need(slot);
    }
    await fleetLock(run, view.proc, view.layout, "in", state, `a move of state ${state} into ${fleet.self.name}`, true);
    const storage = await openFleetStorage(view, view.driver);
    const pull = new Pull(run, view, fleet, storage, transport, state, from);
    if (abort) {
        return pull.abort();
    }
    return pull.pull(slot, args.flags.has("--json"));
}
