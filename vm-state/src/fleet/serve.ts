/**
 * `fleet-serve`: the forced command of the fleet's transfer key (root's authorized_keys on every
 * fleet host: `restrict,from="<addresses>",command="vm-state fleet-serve"`). It reads the request
 * from $SSH_ORIGINAL_COMMAND (never through a shell), allows only its operations with their exact
 * arguments (names by the one name rule, no paths), checks that the host a request names as the
 * other end is a fleet host connecting from its own address, logs every request, allowed or
 * refused (fleet.log), and refuses anything else with exit 2.
 *
 * The source's side of a move (send-snapshot, send-resume, stop-and-release, send-incremental,
 * finish-move, cancel-move: each names the target, which must be the one the move's record
 * names) and the target's side of a replication (receive-replica, keep-replica, prune-replica),
 * and `status`. On files/xfs the image itself moves by rsync: a request `rsync --server ...` is
 * allowed only for the transfer this host is doing with the connecting host, and handed to
 * rrsync confined to that transfer's one directory (fleet/rsync.ts).
 */
import { loadConfig } from "../config";
import { Change, openChange, openView, View } from "../context";
import { conflict, usage, UsageError } from "../errors";
import { isName, NameKind } from "../names";
import { retain } from "../retention";
import { Run } from "../run";
import { openFleetStorage, FleetStorage } from "../storage/fleet";
import { nowSeconds } from "../time";
import { shown } from "../text";
import { backendFamily, FleetConfig, readFleet, ReplicaKeep } from "./config";
import { fleetLock } from "./locks";
import { FleetRecord } from "./records";
import { handOver, parseRsyncRequest, RsyncRequest } from "./rsync";

export const serveOperations = [
    "status",
    "send-snapshot",
    "send-resume",
    "stop-and-release",
    "send-incremental",
    "finish-move",
    "cancel-move",
    "receive-replica",
    "keep-replica",
    "prune-replica",
] as const;
type Operation = (typeof serveOperations)[number];

const maxRequest = 4096;
const requestPattern = /^[a-z0-9_=-]+( [a-z0-9_=-]+)*$/;
const tokenPattern = /^[0-9a-f]+(-[0-9a-f]+)+$/;
const keepPattern = /^(hourly|daily|weekly|monthly)=(0|[1-9][0-9]{0,4})$/;
const replicaTime = /^_replica-.*-([0-9]{4})([0-9]{2})([0-9]{2})-([0-9]{2})([0-9]{2})([0-9]{2})(?:-([0-9]+))?$/;

const text = (v: unknown): string => (typeof v === "string" ? v : "");

/** The client's address from $SSH_CLIENT ("ADDRESS PORT LOCALPORT"); empty when sshd did not run it. */
export function sshClientAddress(vars: NodeJS.ProcessEnv): string {
    return (vars.SSH_CLIENT ?? "").split(" ")[0] ?? "";
}

class Server {
    private readonly client: string;

    constructor(
        private readonly run: Run,
        private readonly view: View,
        private readonly fleet: FleetConfig,
        private readonly storage: FleetStorage,
        private readonly request: string,
    ) {
        this.client = sshClientAddress(run.childEnv);
    }

    private get self(): string {
        return this.fleet.self.name;
    }

    refuse(what: string): never {
        this.view.records.log(this.client, `refused: ${what}`);
        throw usage(`fleet-serve refused ${what}; allowed: ${serveOperations.join(" ")} (see vm-state help)`);
    }

    private count(args: readonly string[], n: number): void {
        if (args.length !== n) {
            this.refuse(`${shown(this.request)}: expected ${n} argument(s), got ${args.length}`);
        }
    }

    private name(kind: NameKind, name: string): void {
        if (!isName(kind, name)) {
            this.refuse(`${shown(this.request)}: invalid ${kind} name ${shown(name)}`);
        }
    }

    /** The other end: a fleet host, not this one, connecting from its own address (one host cannot act as another). */
    private peer(host: string): void {
        this.name("host", host);
        const h = this.fleet.hosts.find((x) => x.name === host);
        if (h === undefined || host === this.self) {
            this.refuse(`${shown(this.request)}: ${host} is not another host of the fleet`);
        }
        if (this.client !== h.address) {
            this.refuse(
                `${shown(this.request)}: ${host}'s address is ${h.address}, this connection comes from ${this.client}`,
            );
        }
        if (backendFamily(h.backend) !== backendFamily(this.view.config.backend)) {
            throw conflict(
                `${host} uses the ${h.backend} backend and ${this.self} ${this.view.config.backend}: states move between zfs hosts, or between files and xfs hosts`,
            );
        }
    }

    private outLock(state: string) {
        return fleetLock(
            this.run,
            this.view.proc,
            this.view.layout,
            "out",
            state,
            `a move of state ${state} out of ${this.self}`,
        );
    }

    private replicaLock(state: string) {
        return fleetLock(
            this.run,
            this.view.proc,
            this.view.layout,
            "replica",
            state,
            `a replication of state ${state} into ${this.self}`,
        );
    }

    /** The main lock, as a change takes it (recovery first); released before data streams. */
    private async change(): Promise<Change> {
        const ch = await openChange(this.run);
        this.run.operation = undefined;
        return ch;
    }

    private async needState(state: string): Promise<void> {
        if (!(await this.view.driver.exists(state))) {
            throw conflict(`unknown state ${shown(state)} (see: vm-state list)`);
        }
    }

    /** The record of a move of STATE to TO, in one of PHASES (any when none given). */
    private outCheck(state: string, to: string, ...phases: string[]): FleetRecord {
        const record = this.view.records.get("out", state);
        const current = text(record?.to);
        if (record === undefined || current === "") {
            throw conflict(`no move of state ${state} is in progress here (it starts with send-snapshot)`);
        }
        if (current !== to) {
            throw conflict(
                `state ${state} is being moved to ${current}; a state moves to one host at a time (cancel that move first: vm-state fleet-cancel ${state} on ${this.self})`,
            );
        }
        if (phases.length > 0 && !phases.includes(text(record.phase))) {
            throw conflict(`the move of ${state} to ${to} is at phase ${text(record.phase)}, not ${phases.join(" ")}`);
        }
        return record;
    }

    async dispatch(op: Operation, args: string[]): Promise<void> {
        switch (op) {
            case "status":
                return this.status(args);
            case "send-snapshot":
                this.count(args, 2);
                return this.sendSnapshot(args[0], args[1]);
            case "send-resume":
                this.count(args, 3);
                return this.sendResume(args[0], args[1], args[2]);
            case "stop-and-release":
                this.count(args, 2);
                return this.stopAndRelease(args[0], args[1]);
            case "send-incremental":
                this.count(args, 2);
                return this.sendIncremental(args[0], args[1]);
            case "finish-move":
                this.count(args, 2);
                return this.finishMove(args[0], args[1]);
            case "cancel-move":
                this.count(args, 2);
                return this.cancelMove(args[0], args[1]);
            case "receive-replica":
                this.count(args, 3);
                return this.receiveReplica(args[0], args[1], args[2]);
            case "keep-replica":
                this.count(args, 3);
                return this.keepReplica(args[0], args[1], args[2]);
            case "prune-replica":
                return this.pruneReplica(args);
        }
    }

    private answer(value: unknown): void {
        this.run.out(`${JSON.stringify(value)}\n`);
    }

    /** status [STATE]: what this host knows about STATE, for the other end of a move or replica. */
    private async status(args: string[]): Promise<void> {
        const base = { host: this.self, backend: this.view.config.backend };
        if (args.length === 0) {
            return this.answer(base);
        }
        this.count(args, 1);
        const state = args[0];
        this.name("state", state);
        const { driver, slots, records } = this.view;
        const exists = await driver.exists(state);
        const slot = exists ? slots.slotOf(state) : undefined;
        const running = slot !== undefined && (await slots.isRunning(slot));
        const out = records.get("out", state);
        const moved = records.get("moved", state);
        const replica = (await this.storage.replicaExists(state))
            ? await this.storage.replicaInfo(state, text(records.get("replicas", state)?.from) || null)
            : null;
        this.answer({
            ...base,
            state,
            exists,
            slot: slot ?? null,
            running,
            moving: out === undefined ? null : { to: out.to ?? null, phase: out.phase ?? null },
            movedTo: moved === undefined ? null : (moved.to ?? null),
            replica,
            image: exists ? this.storage.image(state) : null,
        });
    }

    private async sendSnapshot(state: string, to: string): Promise<void> {
        this.name("state", state);
        this.peer(to);
        await this.outLock(state);
        const ch = await this.change();
        await this.needState(state);
        if (ch.records.get("out", state) !== undefined) {
            this.outCheck(state, to);
        } else {
            ch.records.put("out", state, { to, phase: "copying", since: nowSeconds() });
        }
        await this.storage.outPrepare(state, "initial");
        ch.lock.release();
        this.run.log(`sending state ${state} to ${to} while it runs`);
        const answer = await this.storage.outSend(state, "initial");
        if (answer !== undefined) {
            this.answer(answer);
        }
    }

    private async sendResume(state: string, to: string, token: string): Promise<void> {
        this.name("state", state);
        this.peer(to);
        if (!tokenPattern.test(token)) {
            this.refuse(`${shown(this.request)}: not a resume token`);
        }
        await this.outLock(state);
        this.outCheck(state, to, "copying", "released");
        await this.needState(state);
        await this.storage.outSendResume(state, token, "_fleet-move-");
    }

    /** Stops the slot that runs STATE and detaches it (nothing starts it here any more), then the final mark. */
    private async stopAndRelease(state: string, to: string): Promise<void> {
        this.name("state", state);
        this.peer(to);
        await this.outLock(state);
        const ch = await this.change();
        let record = this.outCheck(state, to, "copying", "releasing", "released");
        await this.needState(state);
        if (record.phase !== "released") {
            const releasing = record.phase === "releasing";
            const slot = releasing ? text(record.slot) || undefined : ch.slots.slotOf(state);
            const running =
                (slot !== undefined && (await ch.slots.isRunning(slot))) || (releasing && record.wasRunning === true);
            ch.records.put("out", state, { phase: "releasing", slot: slot ?? null, wasRunning: running });
            if (slot !== undefined) {
                if (await ch.slots.isRunning(slot)) {
                    await ch.slots.stop(slot);
                }
                if (ch.slots.stateOf(slot) === state) {
                    ch.slots.unlink(slot);
                }
                this.run.log(`${slot} released ${state} for the move to ${to}`);
            }
            await this.storage.outPrepare(state, "final");
            record = ch.records.put("out", state, { phase: "released" });
        }
        this.answer({ slot: text(record.slot) || null, wasRunning: record.wasRunning === true });
    }

    private async sendIncremental(state: string, to: string): Promise<void> {
        this.name("state", state);
        this.peer(to);
        await this.outLock(state);
        this.outCheck(state, to, "released");
        await this.needState(state);
        this.run.log(`sending what changed in ${state} since the first copy`);
        const answer = await this.storage.outSend(state, "final");
        if (answer !== undefined) {
            this.answer(answer);
        }
    }

    /** The target holds the state now: the copy here is hidden (until gc --fleet-moved). */
    private async finishMove(state: string, to: string): Promise<void> {
        this.name("state", state);
        this.peer(to);
        await this.outLock(state);
        const ch = await this.change();
        if (ch.records.get("out", state) === undefined && text(ch.records.get("moved", state)?.to) === to) {
            this.run.log(`state ${state} was already moved to ${to}`);
            return;
        }
        this.outCheck(state, to, "released");
        // A finish-move killed after it hid the state, before it recorded where: that copy is the one.
        const hidden = (await ch.driver.exists(state))
            ? await this.storage.outHide(state)
            : await this.storage.outFindHidden(state);
        if (hidden === undefined) {
            throw conflict(`state ${state} is neither here nor hidden after its move to ${to}; nothing to finish here`);
        }
        ch.records.put("moved", state, { to, at: nowSeconds(), hidden });
        ch.records.remove("out", state);
        this.run.log(
            `state ${state} moved to ${to}; the copy here is kept hidden as ${hidden} until 'vm-state gc --fleet-moved'`,
        );
    }

    private async cancelMove(state: string, to: string): Promise<void> {
        this.name("state", state);
        this.peer(to);
        await this.outLock(state);
        const ch = await this.change();
        this.outCheck(state, to);
        await cancelMove(ch, this.storage, state, this.self);
    }

    private snapName(snap: string, resume: boolean): void {
        if (
            !(resume && snap === "resume") &&
            !new RegExp(`^_replica-${this.self}-[0-9]{8}-[0-9]{6}(-[0-9]+)?$`).test(snap)
        ) {
            this.refuse(`${shown(this.request)}: not a replica snapshot name for ${this.self}`);
        }
    }

    /** zfs: the stream on stdin; files/xfs: announces SNAP for the source's rsync (the answer says where). */
    private async receiveReplica(state: string, from: string, snap: string): Promise<void> {
        this.name("state", state);
        this.peer(from);
        this.snapName(snap, true);
        await this.replicaLock(state);
        const records = this.view.records;
        const have = text(records.get("replicas", state)?.from);
        if (have !== "" && have !== from) {
            throw conflict(`${this.self} holds a replica of ${state} from ${have}, not from ${from}`);
        }
        if (have === "" && (await this.storage.replicaExists(state))) {
            throw conflict(`${this.self} holds replica data of ${state} that no record names; remove it first`);
        }
        records.put("replicas", state, { from, receiving: null });
        const ready = await this.storage.replicaReceive(state, snap);
        if (ready !== undefined) {
            records.put("replicas", state, { receiving: snap });
        }
        this.answer(ready ?? { received: snap });
    }

    /** files/xfs: the copy SNAP the source's rsync wrote is kept (a regular file, not too large) or removed. */
    private async keepReplica(state: string, from: string, snap: string): Promise<void> {
        this.name("state", state);
        this.peer(from);
        this.snapName(snap, false);
        await this.replicaLock(state);
        const record = this.view.records.get("replicas", state);
        if (text(record?.from) !== from || text(record?.receiving) !== snap) {
            throw conflict(`${this.self} expects no copy ${snap} of ${state} from ${from}`);
        }
        this.view.records.put("replicas", state, { receiving: null });
        await this.storage.replicaKeep(state, snap);
        this.answer({ received: snap });
    }

    /**
     * An rsync client's request (fleet/rsync.ts): `<state>/data.img` reads the image of a state
     * this host is moving to the connecting host (rrsync -ro on `states/<state>`);
     * `<state>/<snap>` writes the replica copy the connecting host announced with receive-replica
     * into its temporary directory (rrsync -wo on that directory). Anything else is refused here,
     * before rrsync runs; rrsync then refuses what its options list does not allow.
     */
    async rsync(request: RsyncRequest): Promise<void> {
        const parts = request.path.split("/");
        if (parts.length === 2 && parts[1] === "data.img") {
            const state = parts[0];
            this.name("state", state);
            await this.outLock(state);
            const to = text(this.view.records.get("out", state)?.to);
            if (to === "") {
                throw conflict(`no move of state ${state} is in progress here (it starts with send-snapshot)`);
            }
            this.peer(to);
            this.outCheck(state, to, "copying", "released");
            await this.needState(state);
            const dir = this.storage.outRsyncDir(state);
            if (dir === undefined) {
                this.refuse(
                    `${shown(this.request)}: the ${this.view.config.backend} backend moves states without rsync`,
                );
            }
            return handOver(this.run, "send", dir, request);
        }
        if (parts.length === 2 && parts[1].startsWith("_replica-")) {
            const [state, snap] = parts;
            this.name("state", state);
            this.snapName(snap, false);
            await this.replicaLock(state);
            const record = this.view.records.get("replicas", state);
            const from = text(record?.from);
            const dir = this.storage.replicaRsyncDir(state, snap);
            if (from === "" || text(record?.receiving) !== snap || dir === undefined) {
                throw conflict(`no copy ${snap} of ${state} is announced here (it starts with receive-replica)`);
            }
            this.peer(from);
            return handOver(this.run, "receive", dir, request);
        }
        this.refuse(`${shown(this.request)}: rsync reads <state>/data.img or writes into <state>/<snapshot> only`);
    }

    private async pruneReplica(args: string[]): Promise<void> {
        if (args.length < 2 || args.length > 6) {
            this.refuse(`${shown(this.request)}: expected STATE FROM and up to four KIND=N`);
        }
        const [state, from, ...counts] = args;
        this.name("state", state);
        this.peer(from);
        const keep: Record<string, number> = {};
        for (const arg of counts) {
            const m = keepPattern.exec(arg);
            if (m === null) {
                this.refuse(`${shown(this.request)}: ${shown(arg)} is not KIND=N (hourly, daily, weekly, monthly)`);
            }
            keep[m[1]] = Number(m[2]);
        }
        await this.replicaLock(state);
        if (text(this.view.records.get("replicas", state)?.from) !== from) {
            throw conflict(`${this.self} holds no replica of ${state} from ${from}`);
        }
        this.answer(await pruneReplica(this.run, this.view, this.storage, state, keep));
    }
}

/**
 * Keeps, of a replica's `_replica-*` copies, what the one retention rule keeps (the newest, and the
 * newest of each of the last N hours, days, ISO weeks and months: retention.ts), and the replica's
 * other snapshots (a state's own, sent along by zfs send -I) from the oldest kept copy on; the
 * others are destroyed. Returns {kept, pruned}, oldest first.
 */
export async function pruneReplica(
    run: Run,
    view: View,
    storage: FleetStorage,
    state: string,
    keep: Partial<ReplicaKeep>,
): Promise<{ kept: string[]; pruned: string[] }> {
    const snaps = await view.driver.replicaSnapshots(state);
    const dated = snaps
        .map((name) => ({ name, m: replicaTime.exec(name) }))
        .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
        .map(({ name, m }) => ({
            name,
            created: Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000,
            n: Number(m[7] ?? 0),
        }))
        .sort((a, b) => a.created - b.created || a.n - b.n);
    const kept = new Set(retain(dated, keep, nowSeconds()).keep.map((x) => x.name));
    const oldestKept = snaps.findIndex((s) => kept.has(s));
    const result = { kept: [] as string[], pruned: [] as string[] };
    for (const [i, name] of snaps.entries()) {
        if (kept.has(name) || (!name.startsWith("_replica-") && oldestKept >= 0 && i >= oldestKept)) {
            result.kept.push(name);
            continue;
        }
        await storage.replicaDestroySnapshot(state, name);
        result.pruned.push(name);
    }
    if (result.pruned.length > 0) {
        run.log(`replica of ${state}: pruned ${result.pruned.join(" ")}`);
    }
    return result;
}

/**
 * Undoes a move out of this host (under the lock): the move's marks go, the slot gets its disk
 * back and starts again if it ran. A state that is no longer here (finish-move hid it: the
 * target holds it) is never relinked: that slot would start with no disk.
 */
export async function cancelMove(ch: Change, storage: FleetStorage, state: string, self: string): Promise<void> {
    const record = ch.records.get("out", state) ?? {};
    const to = text(record.to);
    if (!(await ch.driver.exists(state))) {
        throw conflict(
            `the move of ${state} to ${to} is complete there: ${state} is no longer here; finish it on ${to}: vm-state fleet-pull ${state} --from ${self}`,
        );
    }
    const slot = text(record.slot) || undefined;
    await storage.outCleanup(state);
    if (slot !== undefined && ch.slots.has(slot) && ch.slots.diskKind(slot) === "none") {
        ch.slots.link(slot, state);
        ch.run.log(`${slot} -> ${state} again`);
    }
    ch.records.remove("out", state);
    if (slot !== undefined && record.wasRunning === true && !(await ch.slots.isRunning(slot))) {
        await ch.slots.start(slot);
        await ch.slots.waitRunning([slot]);
    }
    ch.run.log(`the move of ${state} was cancelled; it stays here${slot ? ` on ${slot}` : ""}`);
}

export async function fleetServe(run: Run, argv: readonly string[]): Promise<void> {
    if (argv.length > 0) {
        throw new UsageError("fleet-serve takes no arguments: it reads the request from $SSH_ORIGINAL_COMMAND");
    }
    const config = loadConfig(run.env);
    const fleet = readFleet(config, run.env.backend);
    const view = openView(run, config);
    view.records.ready();
    const storage = await openFleetStorage({ run, proc: view.proc, layout: view.layout, config }, view.driver);
    const vars = run.childEnv;
    const request = vars.SSH_ORIGINAL_COMMAND ?? "";
    const server: Server = new Server(run, view, fleet, storage, request);
    // sshd sets SSH_CLIENT for the forced command; without it the request did not come over SSH
    // (a shell or a unit ran it), and no peer's address could be checked.
    if (sshClientAddress(vars) === "") {
        const what = vars.SSH_ORIGINAL_COMMAND === undefined ? "(no request)" : shown(request);
        server.refuse(
            `${what}: the request did not come over SSH (no $SSH_CLIENT); fleet-serve is the forced command of the fleet's key, not for running by hand`,
        );
    }
    if (vars.SSH_ORIGINAL_COMMAND === undefined) {
        server.refuse("no request (this key runs vm-state fleet operations only, no shell)");
    }
    if (request.length > maxRequest) {
        server.refuse(`a request of ${request.length} characters`);
    }
    if (request.startsWith("rsync ")) {
        const rsync = parseRsyncRequest(request);
        if (rsync === undefined) {
            server.refuse(`${shown(request)}: not an rsync server request for one plain path`);
        }
        view.records.log(sshClientAddress(vars), `request: ${request}`);
        return server.rsync(rsync);
    }
    if (!requestPattern.test(request)) {
        server.refuse(`${shown(request)}: a request is an operation and names separated by single spaces`);
    }
    const [op, ...args] = request.split(" ");
    if (!(serveOperations as readonly string[]).includes(op)) {
        server.refuse(`${shown(request)}: unknown operation`);
    }
    view.records.log(sshClientAddress(vars), `request: ${request}`);
    await server.dispatch(op as Operation, args);
}
