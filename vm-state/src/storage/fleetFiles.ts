/**
 * The fleet's serving side on files and xfs: a state is sent as a sparse GNU tar stream of its
 * data.img (what the receiving vm-state reads), a moved state is kept in `states/.moved/`, a
 * replica's copies are `states/.replicas/<state>/<snap>.img`. Every path goes through the root
 * resolver: a linked `.moved` or `.replicas` is refused before anything is written through it.
 */
import { readdirSync, renameSync, rmSync, statfsSync } from "fs";
import { movedCopyName } from "./files";
import { makeDirs } from "../atomic";
import { conflict, fail, usage } from "../errors";
import { lstatOrNull } from "../root";
import { lastLine, systemMessage } from "../text";
import { utcStamp } from "../time";
import { StorageContext, StorageDriver, Usage } from "./driver";
import type { FilesDriver } from "./files";
import type { Receiver } from "../fleet/transport";
import { FleetStorage, ReplicaInfo, replicaVisibleName, Which } from "./fleet";
import { checkTarHead, tarBlock } from "./tarGuard";

const tarFlags = ["--sparse", "--format=gnu"];

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

    async outSend(state: string, which: Which): Promise<void> {
        const dir = this.root.path(["states", state]);
        this.root.path(["states", state, "data.img"]);
        const r = await this.ctx.proc.exec(
            "tar",
            [...tarFlags, "--warning=no-file-changed", "-c", "-f", "-", "-C", dir, "--", "data.img"],
            { stdout: 1 },
        );
        // 1: the image changed while tar read it (a running VM): only the first copy is sent that
        // way, and the catch-up sends the stopped image again.
        if (r.code !== 0 && !(r.code === 1 && which === "initial")) {
            throw fail(`sending ${state} failed: ${lastLine(r.stderr) || `tar exited ${r.code}`}`);
        }
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

    /**
     * The stream's data.img into `.replicas/<state>/.tmp-<snap>/`, renamed to `<snap>.img` once it
     * is there and a regular file; the temporary directory goes whatever happened (a device node,
     * a FIFO or a link a hostile stream carried never stays).
     */
    async replicaReceive(state: string, snap: string): Promise<void> {
        if (snap === "resume") {
            throw fail(`nothing to resume on the ${this.driver.backend} backend`);
        }
        const dir = this.root.path(["states", ".replicas", state]);
        try {
            makeDirs(dir);
        } catch (err) {
            throw fail(`creating ${dir} failed: ${systemMessage(err)}`);
        }
        const tmp = this.root.path(["states", ".replicas", state, `.tmp-${snap}`]);
        rmSync(tmp, { recursive: true, force: true });
        const undo = this.ctx.run.onFailure(() => rmSync(tmp, { recursive: true, force: true }));
        makeDirs(tmp);
        const r = await this.ctx.proc.exec(
            "tar",
            [
                "-x",
                "-f",
                "-",
                "-C",
                tmp,
                "--no-same-owner",
                "--no-same-permissions",
                "--no-overwrite-dir",
                "--",
                "data.img",
            ],
            { stdin: 0 },
        );
        const image = `${tmp}/data.img`;
        const stat = lstatOrNull(image);
        if (r.code !== 0 || stat === null) {
            throw fail(
                `the stream did not hold a complete data.img${lastLine(r.stderr) ? ` (tar: ${lastLine(r.stderr)})` : ""}`,
            );
        }
        if (!stat.isFile()) {
            throw fail("the stream's data.img is not a regular file");
        }
        try {
            renameSync(image, this.root.path(["states", ".replicas", state, `${snap}.img`]));
        } catch (err) {
            throw fail(`keeping the replica ${snap} failed: ${systemMessage(err)}`);
        }
        rmSync(tmp, { recursive: true, force: true });
        undo.dismiss();
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
     * The first copy into `.fleet-in-<state>/` (made anew); the catch-up over that copy, in place
     * (`--overwrite`: tar truncates the file and writes the stream into it, so the catch-up needs
     * room for one copy of the image, not two). tar takes only the first member named data.img.
     */
    async inReceiver(state: string, which: Which | "resume"): Promise<Receiver> {
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
        return {
            cmd: "tar",
            args: [
                "-x",
                "-f",
                "-",
                "-C",
                into,
                "--no-same-owner",
                "--no-same-permissions",
                "--occurrence=1",
                ...(which === "final" ? ["--overwrite"] : ["--no-overwrite-dir"]),
                "--",
                "data.img",
            ],
            guard: checkTarHead,
            guardBytes: tarBlock,
        };
    }

    /** After a stream: data.img must be a regular file; whatever a cut or refused first copy left goes (it is made again). */
    async inAfter(state: string, which: Which | "resume", ok: boolean): Promise<void> {
        const into = this.inDir(state);
        const image = this.inDir(state, "data.img");
        const regular = lstatOrNull(image)?.isFile() === true;
        if (!ok || !regular) {
            if (which === "initial" || !regular) {
                rmSync(which === "initial" ? into : image, { recursive: true, force: true });
            }
            if (ok) {
                throw fail("the stream did not hold data.img as a regular file");
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

    replSender(state: string): { cmd: string; args: string[] } {
        return {
            cmd: "tar",
            args: [
                ...tarFlags,
                "-c",
                "-f",
                "-",
                "-C",
                this.root.path(["states", ".fleet-out", state]),
                "--",
                "data.img",
            ],
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
