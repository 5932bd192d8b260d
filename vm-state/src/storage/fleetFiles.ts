/**
 * The fleet's serving side on files and xfs: a state's data.img moves by rsync (`--sparse
 * --inplace --partial`: the catch-up is a delta pass into the first copy, fleet/rsync.ts), a
 * moved state is kept in `states/.moved/`, a replica's copies are
 * `states/.replicas/<state>/<snap>.img`. Every path goes through the root resolver: a linked
 * `.moved` or `.replicas` is refused before anything is written through it.
 */
import { constants, copyFileSync, readdirSync, renameSync, rmSync, statfsSync } from "fs";
import { movedCopyName } from "./files";
import { makeDirs } from "../atomic";
import { conflict, fail, usage } from "../errors";
import { lstatOrNull } from "../root";
import { systemMessage } from "../text";
import { utcStamp } from "../time";
import { StorageContext, StorageDriver, Usage } from "./driver";
import type { FilesDriver } from "./files";
import { FleetStorage, largestImage, ReplicaInfo, replicaVisibleName, RsyncFile, Which } from "./fleet";

/** Why a file that arrived is not kept, or undefined when it is a regular file no larger than the largest state. */
function refusedImage(path: string): string | undefined {
    const stat = lstatOrNull(path);
    if (stat === null) {
        return "no data.img arrived";
    }
    if (!stat.isFile()) {
        return "data.img is not a regular file (a link, a device node, a FIFO or a directory)";
    }
    if (stat.size > largestImage) {
        return `data.img is larger than the largest state (${largestImage / 1024 ** 3} GiB)`;
    }
    return undefined;
}

export class FilesFleet implements FleetStorage {
    constructor(
        private readonly ctx: StorageContext,
        private readonly driver: StorageDriver,
    ) {}

    private get root() {
        return this.ctx.layout.root;
    }

    async outPrepare(): Promise<void> {
        // a file is read as it is
    }

    /** Nothing streams: the answer says where the puller's rsync finds the image (`outRsyncDir`). */
    async outSend(state: string): Promise<Record<string, unknown>> {
        this.outRsyncDir(state);
        return { transfer: "rsync", path: `${state}/data.img` };
    }

    outRsyncDir(state: string): string {
        const image = this.root.path(["states", state, "data.img"]);
        if (lstatOrNull(image)?.isFile() !== true) {
            throw conflict(`state ${state} has no regular data.img to send`);
        }
        return this.root.path(["states", state]);
    }

    async outSendResume(): Promise<void> {
        throw usage(`resume tokens exist on zfs only`);
    }

    async outCleanup(): Promise<void> {
        // nothing marked
    }

    async outHide(state: string): Promise<string> {
        const moved = this.root.path(["states", ".moved"]);
        try {
            makeDirs(moved);
        } catch (err) {
            throw fail(`creating ${moved} failed: ${systemMessage(err)}`);
        }
        const base = `${state}.${utcStamp(new Date(), "")}`;
        let name = base;
        for (let n = 2; lstatOrNull(this.root.path(["states", ".moved", name])) !== null; n++) {
            name = `${base}-${n}`;
        }
        const hidden = this.root.path(["states", ".moved", name]);
        try {
            renameSync(this.root.path(["states", state]), hidden);
        } catch (err) {
            throw fail(`hiding ${this.ctx.layout.statesDir}/${state} failed: ${systemMessage(err)}`);
        }
        return hidden;
    }

    async outFindHidden(state: string): Promise<string | undefined> {
        const moved = this.root.tryPath(["states", ".moved"]);
        if (moved === undefined || lstatOrNull(moved)?.isDirectory() !== true) {
            return undefined;
        }
        const prefix = `${moved}/`;
        const names = readdirSync(moved)
            .filter(
                (n) =>
                    movedCopyName(`${prefix}${n}`, prefix)?.startsWith(`${state}.`) === true &&
                    /^[0-9]/.test(n.slice(state.length + 1)),
            )
            .sort();
        return names.length > 0 ? this.root.path(["states", ".moved", names[names.length - 1]]) : undefined;
    }

    async replicaExists(state: string): Promise<boolean> {
        const dir = this.root.tryPath(["states", ".replicas", state]);
        return dir !== undefined && lstatOrNull(dir)?.isDirectory() === true;
    }

    async replicaInfo(state: string, from: string | null): Promise<ReplicaInfo> {
        const snapshots = await this.driver.replicaSnapshots(state);
        return {
            from,
            snapshots,
            latest: snapshots[snapshots.length - 1] ?? null,
            latestGuid: null,
            resumeToken: null,
        };
    }

    private replicaTmp(state: string, snap: string): string[] {
        return ["states", ".replicas", state, `.tmp-${snap}`];
    }

    /**
     * `.replicas/<state>/.tmp-<snap>/` made anew (earlier ones go) for the source's rsync, seeded
     * with a reflink of the newest copy where the filesystem has them (xfs), so the push sends
     * only what changed; without reflinks the push is a full copy.
     */
    async replicaReceive(state: string, snap: string): Promise<Record<string, unknown>> {
        if (snap === "resume") {
            throw fail(`nothing to resume on the ${this.driver.backend} backend`);
        }
        const dir = this.root.path(["states", ".replicas", state]);
        try {
            makeDirs(dir);
        } catch (err) {
            throw fail(`creating ${dir} failed: ${systemMessage(err)}`);
        }
        for (const old of readdirSync(dir).filter((n) => n.startsWith(".tmp-"))) {
            rmSync(this.root.path(["states", ".replicas", state, old]), { recursive: true, force: true });
        }
        const tmp = this.root.path(this.replicaTmp(state, snap));
        try {
            makeDirs(tmp);
        } catch (err) {
            throw fail(`creating ${tmp} failed: ${systemMessage(err)}`);
        }
        const latest = (await this.driver.replicaSnapshots(state)).pop();
        let seeded = false;
        if (latest !== undefined) {
            try {
                copyFileSync(
                    this.root.path(["states", ".replicas", state, `${latest}.img`]),
                    this.root.path([...this.replicaTmp(state, snap), "data.img"]),
                    constants.COPYFILE_FICLONE_FORCE,
                );
                seeded = true;
            } catch {
                rmSync(this.root.path([...this.replicaTmp(state, snap), "data.img"]), { force: true });
            }
        }
        return { transfer: "rsync", path: `${state}/${snap}`, seededFrom: seeded ? latest : null };
    }

    replicaRsyncDir(state: string, snap: string): string | undefined {
        const tmp = this.root.tryPath(this.replicaTmp(state, snap));
        return tmp !== undefined && lstatOrNull(tmp)?.isDirectory() === true ? tmp : undefined;
    }

    /** The pushed data.img becomes `<snap>.img`; the temporary directory goes whatever it held. */
    async replicaKeep(state: string, snap: string): Promise<void> {
        const tmp = this.replicaRsyncDir(state, snap);
        if (tmp === undefined) {
            throw conflict(`no copy ${snap} of ${state} was announced here (receive-replica first)`);
        }
        // Looked at, never followed: a link that arrived is refused (the resolver would stop at it).
        const image = `${tmp}/data.img`;
        const why = refusedImage(image);
        try {
            if (why === undefined) {
                renameSync(image, this.root.path(["states", ".replicas", state, `${snap}.img`]));
            }
        } catch (err) {
            throw fail(`keeping the replica ${snap} failed: ${systemMessage(err)}`);
        } finally {
            rmSync(tmp, { recursive: true, force: true });
        }
        if (why !== undefined) {
            throw fail(`the replica copy ${snap} is not kept: ${why}`);
        }
    }

    async replicaDestroySnapshot(state: string, snap: string): Promise<void> {
        rmSync(this.root.path(["states", ".replicas", state, `${snap}.img`]), { force: true });
    }

    async replicaPromote(state: string, name: string): Promise<void> {
        const work = ["states", ".replicas", state, ".promote"];
        const snaps = (await this.driver.replicaSnapshots(state)).filter((s) => replicaVisibleName(s) !== undefined);
        const move = (from: string, to: string, what: string) => {
            try {
                renameSync(from, to);
            } catch (err) {
                throw fail(`${what} failed: ${systemMessage(err)}`);
            }
        };
        try {
            makeDirs(this.root.path([...work, ".snapshots"]));
        } catch (err) {
            throw fail(`creating ${this.root.path(work)} failed: ${systemMessage(err)}`);
        }
        let older = snaps;
        if (lstatOrNull(this.root.path([...work, "data.img"]))?.isFile() !== true) {
            const newest = snaps[snaps.length - 1];
            if (newest === undefined) {
                throw conflict(`the replica of ${state} holds no complete copy`);
            }
            older = snaps.slice(0, -1);
            move(
                this.root.path(["states", ".replicas", state, `${newest}.img`]),
                this.root.path([...work, "data.img"]),
                `making ${state}'s newest replica a state`,
            );
        }
        for (const snap of older) {
            const visible = replicaVisibleName(snap) as string;
            move(
                this.root.path(["states", ".replicas", state, `${snap}.img`]),
                this.root.path([...work, ".snapshots", `${visible}.img`]),
                `keeping ${snap}`,
            );
        }
        move(
            this.root.path(work),
            this.root.path(["states", name]),
            `renaming the replica of ${state} to ${this.ctx.layout.statesDir}/${name}`,
        );
        rmSync(this.root.path(["states", ".replicas", state]), { recursive: true, force: true });
    }

    private inDir(state: string, ...rest: string[]) {
        return this.root.path(["states", `.fleet-in-${state}`, ...rest]);
    }

    async inToken(): Promise<string> {
        return "";
    }

    async inAbort(state: string): Promise<void> {
        rmSync(this.inDir(state), { recursive: true, force: true });
    }

    /**
     * The first copy into `.fleet-in-<state>/data.img` (the directory made anew); the catch-up
     * over that copy, in place (rsync --inplace: a delta pass that writes only what changed, so
     * the catch-up needs room for one copy of the image, not two).
     */
    async inReceiver(state: string, which: Which | "resume"): Promise<RsyncFile> {
        if (which === "resume") {
            throw fail(`nothing to resume on the ${this.driver.backend} backend`);
        }
        const into = this.inDir(state);
        if (which === "initial") {
            rmSync(into, { recursive: true, force: true });
            try {
                makeDirs(into);
            } catch (err) {
                throw fail(`creating ${into} failed: ${systemMessage(err)}`);
            }
        } else if (lstatOrNull(this.inDir(state, "data.img"))?.isFile() !== true) {
            throw fail(`no first copy of ${state} here to catch up`);
        }
        return { rsync: true, local: this.inDir(state, "data.img"), remote: `${state}/data.img` };
    }

    /**
     * After a copy: data.img must be a regular file no larger than the largest state (rsync's own
     * checks and --max-size keep anything else out; this is the check after); whatever a cut or
     * refused first copy left goes (it is made again), a cut catch-up keeps the first copy.
     */
    async inAfter(state: string, which: Which | "resume", ok: boolean): Promise<void> {
        const into = this.inDir(state);
        const image = `${into}/data.img`; // looked at, never followed
        const why = refusedImage(image);
        if (!ok || why !== undefined) {
            if (which === "initial" || why !== undefined) {
                rmSync(which === "initial" ? into : image, { recursive: true, force: true });
            }
            if (ok) {
                throw fail(`the copy is not kept: ${why}`);
            }
        }
    }

    inRoom(state: string, sourceAllocated: number): { needed: number; free: number } {
        const have = lstatOrNull(this.inDir(state, "data.img"));
        const fs = statfsSync(this.root.path(["states"]));
        return {
            needed: Math.max(0, sourceAllocated - (have?.isFile() ? have.blocks * 512 : 0)),
            free: fs.bavail * fs.bsize,
        };
    }

    async inComplete(state: string): Promise<boolean> {
        return lstatOrNull(this.inDir(state, "data.img"))?.isFile() === true;
    }

    async inPlace(state: string): Promise<void> {
        try {
            renameSync(this.inDir(state), this.root.path(["states", state]));
        } catch (err) {
            throw fail(`renaming ${this.inDir(state)} failed: ${systemMessage(err)}`);
        }
    }

    async replMark(state: string, _snap: string, pause: (action: () => Promise<void>) => Promise<void>): Promise<void> {
        const dir = this.root.path(["states", ".fleet-out", state]);
        rmSync(dir, { recursive: true, force: true });
        try {
            makeDirs(dir);
        } catch (err) {
            throw fail(`creating ${dir} failed: ${systemMessage(err)}`);
        }
        const image = this.root.path(["states", ".fleet-out", state, "data.img"]);
        await pause(() =>
            (this.driver as FilesDriver).copy(this.ctx.layout.stateImage(state), image, `state ${state}`),
        );
    }

    async resumeSender(): Promise<{ cmd: string; args: string[] }> {
        throw usage("resume tokens exist on zfs only");
    }

    replSender(state: string, snap: string): RsyncFile {
        return {
            rsync: true,
            local: this.root.path(["states", ".fleet-out", state, "data.img"]),
            remote: `${state}/${snap}`,
        };
    }

    async replExists(): Promise<boolean> {
        return false;
    }

    async replHasBase(): Promise<boolean> {
        return true;
    }

    /** The frozen copy goes, whether the replication finished or failed. */
    async replDone(state: string): Promise<void> {
        const dir = this.root.tryPath(["states", ".fleet-out", state]);
        if (dir !== undefined) {
            rmSync(dir, { recursive: true, force: true });
        }
    }

    image(state: string): Usage {
        return this.driver.usage(state);
    }
}
