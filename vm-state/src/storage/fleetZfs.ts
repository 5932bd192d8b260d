/**
 * The fleet's serving side on zfs: a move sends `<state>@_fleet-move-1` while the VM runs and
 * `-i @_fleet-move-1 @_fleet-move-2` once it is stopped; an interrupted receive resumes with the
 * receiver's token (`zfs send -t`), checked first to resume one of this transfer's snapshots
 * (toname and toguid) from the base this transfer sends from (fromguid); a moved state is kept as
 * `<pool>/moved/<state>.<time>`; a replica is received into `<pool>/replicas/<state>` with -s.
 */
import { conflict, fail, usage } from "../errors";
import { lastLine, shown } from "../text";
import { Usage } from "./driver";
import type { Receiver } from "../fleet/transport";
import { FleetStorage, ReplicaInfo, replicaVisibleName, Which } from "./fleet";
import { ZfsDriver } from "./zfs";

const moveMarks = { initial: "_fleet-move-1", final: "_fleet-move-2" } as const;

/** What `zfs send -nv -t TOKEN` says a token resumes: `toname`, `toguid` and, for an incremental stream, `fromguid`. */
export function tokenContents(text: string): { toname?: string; toguid?: string; fromguid?: string } {
    const field = (key: string): string | undefined => new RegExp(`^\\s*${key} = (\\S+)\\s*$`, "m").exec(text)?.[1];
    return { toname: field("toname"), toguid: field("toguid"), fromguid: field("fromguid") };
}

/** A guid as zfs prints it (decimal) from the token's `0x...` or decimal form; undefined if neither. */
export function guidValue(text: string): string | undefined {
    if (/^0x[0-9a-fA-F]+$/.test(text)) {
        return BigInt(text).toString();
    }
    return /^[0-9]+$/.test(text) ? BigInt(text).toString() : undefined;
}

export class ZfsFleet implements FleetStorage {
    constructor(private readonly driver: ZfsDriver) {}

    private get run() {
        return this.driver.ctx.run;
    }

    private async send(args: readonly string[], what: string): Promise<void> {
        const r = await this.driver.ctx.proc.exec(this.run.env.commands.zfs, ["send", ...args], { stdout: 1 });
        if (r.code !== 0) {
            throw fail(`${what} failed: ${lastLine(r.stderr) || `zfs exited ${r.code}`}`);
        }
    }

    private async guid(name: string): Promise<string | undefined> {
        const r = await this.driver.zfs(["get", "-H", "-p", "-o", "value", "guid", name]);
        return r.code === 0 ? r.stdout.trim() : undefined;
    }

    private async token(dataset: string): Promise<string> {
        if (!(await this.driver.has(dataset))) {
            return "";
        }
        const r = await this.driver.zfs(["get", "-H", "-o", "value", "receive_resume_token", dataset]);
        const token = r.code === 0 ? r.stdout.trim() : "";
        return token === "-" ? "" : token;
    }

    async outPrepare(state: string, which: Which): Promise<void> {
        const snap = `${this.driver.dataset(state)}@${moveMarks[which]}`;
        if (!(await this.driver.has(snap))) {
            await this.driver.attempt(`zfs snapshot ${snap}`, ["snapshot", snap]);
        }
    }

    async outSend(state: string, which: Which): Promise<undefined> {
        const ds = this.driver.dataset(state);
        await this.send(
            which === "initial"
                ? [`${ds}@${moveMarks.initial}`]
                : ["-i", `@${moveMarks.initial}`, `${ds}@${moveMarks.final}`],
            `zfs send of ${state}`,
        );
        return undefined;
    }

    outRsyncDir(): undefined {
        return undefined;
    }

    /**
     * The token must resume a snapshot `<state>@PREFIX*` that exists here with the token's guid,
     * and an incremental one must start from a snapshot `<state>@PREFIX*` with the token's
     * fromguid: anything else would send data this transfer does not send.
     */
    async checkToken(state: string, token: string, prefix: string): Promise<string> {
        const r = await this.driver.zfs(["send", "-nv", "-t", token]);
        if (r.code !== 0) {
            throw fail(`zfs refused the resume token: ${lastLine(r.stderr) || lastLine(r.stdout)}`);
        }
        const { toname = "", toguid = "", fromguid } = tokenContents(`${r.stdout}\n${r.stderr}`);
        const ds = this.driver.dataset(state);
        if (!toname.startsWith(`${ds}@${prefix}`) || /\s/.test(toname)) {
            throw usage(
                `the resume token is for ${shown(toname)}, not a snapshot of ${state} that this transfer sends`,
            );
        }
        const guid = await this.guid(toname);
        if (guid === undefined) {
            throw conflict(`the resume token is for ${toname}, which no longer exists`);
        }
        if (guidValue(toguid) !== guid) {
            throw conflict(`the resume token is for an earlier ${toname} (another guid); start the transfer again`);
        }
        if (fromguid !== undefined) {
            const from = guidValue(fromguid);
            const list = await this.driver.zfs(["list", "-H", "-o", "name", "-t", "snapshot", "-d", "1", ds]);
            const bases = list.stdout.split("\n").filter((n) => n.startsWith(`${ds}@${prefix}`) && n !== toname);
            let found = false;
            for (const base of bases) {
                if (from !== undefined && (await this.guid(base)) === from) {
                    found = true;
                    break;
                }
            }
            if (!found) {
                throw conflict(
                    `the resume token's incremental base (fromguid ${shown(fromguid)}) is not a snapshot of ${state} that this transfer sends from; start the transfer again`,
                );
            }
        }
        return toname;
    }

    async outSendResume(state: string, token: string, prefix: string): Promise<void> {
        await this.checkToken(state, token, prefix);
        await this.send(["-t", token], `zfs send of ${state} (resumed)`);
    }

    async outCleanup(state: string): Promise<void> {
        for (const mark of [moveMarks.final, moveMarks.initial]) {
            const snap = `${this.driver.dataset(state)}@${mark}`;
            if (await this.driver.has(snap)) {
                await this.driver.attempt(`zfs destroy ${snap}`, ["destroy", snap]);
            }
        }
    }

    async outHide(state: string): Promise<string> {
        await this.driver.parent(`${this.driver.pool}/moved`);
        const hidden = await this.driver.hiddenName("moved", state);
        await this.driver.attempt(`hiding ${this.driver.dataset(state)}`, [
            "rename",
            this.driver.dataset(state),
            hidden,
        ]);
        return hidden;
    }

    async outFindHidden(state: string): Promise<string | undefined> {
        const parent = `${this.driver.pool}/moved`;
        const r = await this.driver.zfs(["list", "-H", "-o", "name", "-t", "filesystem", "-d", "1", parent]);
        const names = r.stdout
            .split("\n")
            .filter(
                (n) => n.startsWith(`${parent}/${state}.`) && /^[0-9]/.test(n.slice(parent.length + state.length + 2)),
            )
            .sort();
        return names[names.length - 1];
    }

    async replicaExists(state: string): Promise<boolean> {
        return this.driver.has(this.driver.fleetNames.replica(state));
    }

    async replicaInfo(state: string, from: string | null): Promise<ReplicaInfo> {
        const ds = this.driver.fleetNames.replica(state);
        const snapshots = await this.driver.replicaSnapshots(state);
        const latest = snapshots[snapshots.length - 1] ?? null;
        const latestGuid = latest === null ? null : ((await this.guid(`${ds}@${latest}`)) ?? null);
        const token = await this.token(ds);
        return { from, snapshots, latest, latestGuid, resumeToken: token === "" ? null : token };
    }

    replicaRsyncDir(): undefined {
        return undefined;
    }

    async replicaKeep(): Promise<void> {
        throw usage("zfs replicas arrive as a stream (receive-replica), not by rsync");
    }

    async replicaReceive(state: string, snap: string): Promise<undefined> {
        const ds = this.driver.fleetNames.replica(state);
        await this.driver.parent(`${this.driver.pool}/replicas`);
        const flags = ["-s", "-u"];
        if (snap !== "resume" && (await this.driver.has(ds))) {
            flags.push("-F");
        }
        const r = await this.driver.ctx.proc.exec(this.run.env.commands.zfs, ["receive", ...flags, ds], { stdin: 0 });
        if (r.code !== 0) {
            throw fail(`zfs receive into ${ds} failed: ${lastLine(r.stderr) || `zfs exited ${r.code}`}`);
        }
        if (snap !== "resume" && !(await this.driver.has(`${ds}@${snap}`))) {
            throw fail(`the stream did not hold ${snap}`);
        }
        return undefined;
    }

    async replicaDestroySnapshot(state: string, snap: string): Promise<void> {
        const name = `${this.driver.fleetNames.replica(state)}@${snap}`;
        await this.driver.attempt(`zfs destroy ${name}`, ["destroy", name]);
    }

    async replicaPromote(state: string, name: string): Promise<void> {
        const ds = this.driver.fleetNames.replica(state);
        const target = this.driver.dataset(name);
        if ((await this.token(ds)) !== "") {
            this.run.log(`dropping an interrupted replication of ${state} (zfs receive -A)`);
            await this.driver.attempt(`zfs receive -A ${ds}`, ["receive", "-A", ds]);
        }
        if ((await this.driver.replicaSnapshots(state)).length === 0) {
            throw conflict(`the replica of ${state} holds no complete snapshot`);
        }
        await this.driver.attempt(`renaming ${ds}`, ["rename", ds, target]);
        for (const { name: snap } of await this.driver.datasetSnapshots(target, `listing ${target}`)) {
            const visible = replicaVisibleName(snap);
            if (visible !== undefined) {
                await this.driver.attempt(`renaming ${target}@${snap}`, [
                    "rename",
                    `${target}@${snap}`,
                    `${target}@${visible}`,
                ]);
            }
        }
        await this.driver.attempt(`mounting ${target}`, ["mount", target]);
    }

    private inName(state: string): string {
        return this.driver.fleetNames.arriving(state);
    }

    async inToken(state: string): Promise<string> {
        return this.token(this.inName(state));
    }

    async inAbort(state: string): Promise<void> {
        const ds = this.inName(state);
        if ((await this.token(ds)) !== "") {
            await this.driver.attempt(`zfs receive -A ${ds}`, ["receive", "-A", ds]);
        }
        if (await this.driver.has(ds)) {
            await this.driver.attempt(`zfs destroy -r ${ds}`, ["destroy", "-r", ds]);
        }
    }

    async inReceiver(state: string, which: Which | "resume"): Promise<Receiver> {
        return {
            cmd: this.run.env.commands.zfs,
            args: ["receive", "-s", "-u", ...(which === "final" ? ["-F"] : []), this.inName(state)],
        };
    }

    async inAfter(): Promise<void> {
        // a receive cut short keeps its resume token: the next run resumes from there
    }

    inRoom(): undefined {
        return undefined;
    }

    async inComplete(state: string, which: Which): Promise<boolean> {
        const ds = this.inName(state);
        return (await this.token(ds)) === "" && (await this.driver.has(`${ds}@${moveMarks[which]}`));
    }

    async inPlace(state: string): Promise<void> {
        const ds = this.inName(state);
        const target = this.driver.dataset(state);
        await this.driver.attempt(`renaming ${ds}`, ["rename", ds, target]);
        await this.driver.attempt(`mounting ${target}`, ["mount", target]);
        await this.outCleanup(state); // the marks arrived with the stream: the same names as on the source
    }

    async replMark(state: string, snap: string): Promise<void> {
        await this.driver.snapshot(state, snap);
    }

    async resumeSender(state: string, token: string, prefix: string): Promise<{ cmd: string; args: string[] }> {
        await this.checkToken(state, token, prefix);
        return { cmd: this.run.env.commands.zfs, args: ["send", "-t", token] };
    }

    replSender(state: string, snap: string, base: string): { cmd: string; args: string[] } {
        const ds = this.driver.dataset(state);
        return {
            cmd: this.run.env.commands.zfs,
            args: ["send", ...(base !== "" ? ["-I", `@${base}`] : []), `${ds}@${snap}`],
        };
    }

    async replExists(state: string, snap: string): Promise<boolean> {
        return this.driver.has(`${this.driver.dataset(state)}@${snap}`);
    }

    async replHasBase(state: string, base: string, guid: string): Promise<boolean> {
        const have = await this.guid(`${this.driver.dataset(state)}@${base}`);
        return have !== undefined && (guid === "" || guid === have);
    }

    /** Keeps, of the snapshots sent to TO, only the newest (SNAP); never one a clone depends on. */
    async replDone(state: string, snap: string, to: string): Promise<void> {
        if (snap === "") {
            return;
        }
        const ds = this.driver.dataset(state);
        for (const { full, name } of await this.driver.datasetSnapshots(ds, `listing ${ds}`)) {
            if (
                name.startsWith(`_replica-${to}-`) &&
                name !== snap &&
                (await this.driver.dependents(full)).length === 0
            ) {
                await this.driver.attempt(`zfs destroy ${full}`, ["destroy", full]);
            }
        }
    }

    image(state: string): Usage {
        return this.driver.usage(state);
    }
}
