/**
 * The files backend: a state is the directory `states/<state>` holding `data.img`; its snapshots
 * are files `states/<state>/.snapshots/<snap>.img`. Every copy is a whole, independent file: a
 * reflink where the filesystem has them, else a sparse copy of the allocated data (image.ts).
 * xfs.ts is this backend with reflinks required.
 */
import { makeDirs } from "../atomic";
import { Dirent, mkdirSync, readdirSync, renameSync, rmSync, statfsSync, statSync, unlinkSync } from "fs";
import { StorageBackend } from "../config";
import { fail } from "../errors";
import { tempPrefix } from "../layout";
import { isName } from "../names";
import { lstatOrNull } from "../root";
import { systemMessage } from "../text";
import { copyImage, CopyMode, makeImage } from "./image";
import { Capacity, HiddenEntry, LiveCopy, SnapshotInfo, StorageContext, StorageDriver, Usage } from "./driver";

/** A moved copy's name, `<state>.<YYYYmmddHHMMSS>[-N]`, if HIDDEN is PREFIX and one; else undefined. */
export function movedCopyName(hidden: string, prefix: string): string | undefined {
    if (!hidden.startsWith(prefix)) {
        return undefined;
    }
    const name = hidden.slice(prefix.length);
    const m = /^(.+)\.[0-9]{14}(-[0-9]+)?$/.exec(name);
    return m !== null && isName("state", m[1]) ? name : undefined;
}

export class FilesDriver implements StorageDriver {
    readonly live: LiveCopy = "pause";

    constructor(
        protected readonly ctx: StorageContext,
        readonly backend: StorageBackend = "files",
        protected readonly copyMode: CopyMode = "reflink-or-sparse",
    ) {}

    protected get layout() {
        return this.ctx.layout;
    }

    async exists(state: string): Promise<boolean> {
        const dir = this.layout.root.tryPath(["states", state]);
        const img = dir && this.layout.root.tryPath(["states", state, "data.img"]);
        return img !== undefined && lstatOrNull(dir!)?.isDirectory() === true && lstatOrNull(img)?.isFile() === true;
    }

    async list(): Promise<string[]> {
        const states = this.layout.states();
        let entries: string[];
        try {
            entries = readdirSync(states).sort();
        } catch {
            return [];
        }
        const names: string[] = [];
        for (const name of entries) {
            if (name.startsWith(".")) {
                continue;
            }
            if (lstatOrNull(`${states}/${name}`)?.isSymbolicLink()) {
                this.ctx.run.log(`warning: ${states}/${name} is a symbolic link, not a state; not listed`);
            } else if (isName("state", name) && (await this.exists(name))) {
                names.push(name);
            }
        }
        return names;
    }

    async snapshotExists(state: string, snapshot: string): Promise<boolean> {
        const path = this.layout.root.tryPath(["states", state, ".snapshots", `${snapshot}.img`]);
        return path !== undefined && lstatOrNull(path)?.isFile() === true;
    }

    async snapshotObstacle(state: string, snapshot: string): Promise<string | undefined> {
        const path = this.layout.snapshotImage(state, snapshot);
        const stat = lstatOrNull(path);
        if (stat === null || stat.isFile()) {
            return undefined;
        }
        return `${path} exists and is not a snapshot; move it away first`;
    }

    async snapshots(state: string): Promise<SnapshotInfo[]> {
        const dir = this.layout.root.tryPath(["states", state, ".snapshots"]);
        if (dir === undefined) {
            return [];
        }
        let entries: string[];
        try {
            entries = readdirSync(dir);
        } catch {
            return [];
        }
        const found: (SnapshotInfo & { path: string })[] = [];
        for (const entry of entries) {
            const name = entry.endsWith(".img") ? entry.slice(0, -4) : "";
            const stat = isName("snapshot", name) ? lstatOrNull(`${dir}/${entry}`) : null;
            if (stat?.isFile()) {
                found.push({ name, created: Math.floor(stat.mtimeMs / 1000), path: `${dir}/${entry}` });
            }
        }
        found.sort((a, b) => a.created - b.created || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
        return found.map(({ name, created }) => ({ name, created }));
    }

    async snapshotHeld(): Promise<boolean> {
        return false; // every copy is a file of its own
    }

    /** Builds a state in `states/.tmp-<name>` and renames it last; removed if anything fails. */
    protected async newState(name: string, fill: (image: string) => Promise<void>): Promise<void> {
        const tmp = this.layout.statesEntry(`${tempPrefix}${name}`);
        const undo = this.ctx.run.onFailure(() => rmSync(tmp, { recursive: true, force: true }));
        try {
            mkdirSync(tmp);
        } catch (err) {
            throw fail(`creating ${tmp} failed: ${systemMessage(err)}`);
        }
        await fill(this.layout.root.path(["states", `${tempPrefix}${name}`, "data.img"]));
        await this.ctx.run.phase("image-copied");
        const target = this.layout.statesEntry(name);
        try {
            renameSync(tmp, target);
        } catch (err) {
            throw fail(`renaming ${tmp} to ${target} failed: ${systemMessage(err)}`);
        }
        undo.dismiss();
    }

    copy(src: string, dst: string, what: string): Promise<void> {
        return copyImage(this.ctx, src, dst, what, this.copyMode);
    }

    async create(state: string, sizeGiB: number): Promise<void> {
        await this.newState(state, (image) => makeImage(this.ctx, image, sizeGiB));
    }

    async clone(source: string, target: string): Promise<void> {
        await this.newState(target, (image) => this.copy(this.layout.stateImage(source), image, `state ${source}`));
    }

    async restore(state: string, snapshot: string, target: string): Promise<void> {
        await this.newState(target, (image) =>
            this.copy(this.layout.snapshotImage(state, snapshot), image, `snapshot ${state}@${snapshot}`),
        );
    }

    async snapshot(state: string, snapshot: string): Promise<void> {
        const dir = this.layout.snapshotsDir(state);
        try {
            makeDirs(dir);
        } catch (err) {
            throw fail(`creating ${dir} failed: ${systemMessage(err)}`);
        }
        const tmp = this.layout.snapshotsEntry(state, `${tempPrefix}${snapshot}.img`);
        const undo = this.ctx.run.onFailure(() => rmSync(tmp, { force: true }));
        await this.copy(this.layout.stateImage(state), tmp, `state ${state}`);
        await this.ctx.run.phase("image-copied");
        try {
            renameSync(tmp, this.layout.snapshotImage(state, snapshot));
        } catch (err) {
            throw fail(`renaming the snapshot into place failed: ${systemMessage(err)}`);
        }
        undo.dismiss();
    }

    async delete(state: string): Promise<void> {
        // Renamed first, so a half-deleted state never looks like a state.
        const dir = this.layout.statesEntry(state);
        const away = this.layout.statesEntry(`${tempPrefix}del.${state}`);
        const undo = this.ctx.run.onFailure(() => rmSync(away, { recursive: true, force: true }));
        try {
            renameSync(dir, away);
        } catch (err) {
            throw fail(`moving ${dir} away failed: ${systemMessage(err)}`);
        }
        rmSync(away, { recursive: true, force: true });
        undo.dismiss();
    }

    async deleteSnapshot(state: string, snapshot: string): Promise<void> {
        try {
            unlinkSync(this.layout.snapshotImage(state, snapshot));
        } catch (err) {
            throw fail(`deleting snapshot ${state}@${snapshot} failed: ${systemMessage(err)}`);
        }
    }

    /**
     * On the states' filesystem a rename (nothing copied; a running VM keeps its open file) into
     * `states/<state>/`, which is a state from the moment data.img lands there. Elsewhere a copy,
     * built under a temporary name; the original stays until the slot's link replaces it.
     */
    async adopt(file: string, state: string): Promise<void> {
        const states = this.layout.states();
        if (statSync(file).dev === statSync(states).dev) {
            const dir = this.layout.statesEntry(state);
            try {
                makeDirs(dir);
                renameSync(file, this.layout.stateImage(state));
            } catch (err) {
                throw fail(`moving ${file} into state ${state} failed: ${systemMessage(err)}`);
            }
            return;
        }
        await this.newState(state, (image) => this.copy(file, image, file));
    }

    async leftovers(): Promise<void> {
        const states = this.layout.states();
        let entries: Dirent[];
        try {
            entries = readdirSync(states, { withFileTypes: true }).sort((a, b) =>
                a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
            );
        } catch {
            return;
        }
        const found: string[] = entries
            .filter((e) => e.name.startsWith(tempPrefix))
            .map((e) => this.layout.statesEntry(e.name));
        for (const entry of entries) {
            // The entry's type comes with the directory (d_type): a link is not a directory here.
            if (entry.name.startsWith(".") || !entry.isDirectory()) {
                continue;
            }
            // One lstat to skip the common case (no snapshots); what is read goes through the root.
            if (lstatOrNull(`${states}/${entry.name}/.snapshots`)?.isDirectory() !== true) {
                continue;
            }
            let inside: string[] = [];
            try {
                inside = readdirSync(this.layout.snapshotsDir(entry.name)).sort();
            } catch {
                // gone meanwhile: no leftovers in it
            }
            found.push(
                ...inside.filter((e) => e.startsWith(tempPrefix)).map((e) => this.layout.snapshotsEntry(entry.name, e)),
            );
        }
        for (const path of found) {
            this.ctx.run.log(`removing ${path} left by an interrupted run`);
            rmSync(path, { recursive: true, force: true });
        }
    }

    async gc(): Promise<void> {
        // nothing is ever hidden: every copy is a file of its own
    }

    async hidden(): Promise<HiddenEntry[]> {
        return [];
    }

    async prepare(): Promise<void> {
        // works on any filesystem
    }

    movedCopy(hidden: string): string | undefined {
        return movedCopyName(hidden, `${this.layout.statesDir}/.moved/`);
    }

    async purgeMoved(name: string): Promise<void> {
        const path = this.layout.root.path(["states", ".moved", name]);
        try {
            rmSync(path, { recursive: true, force: true });
        } catch (err) {
            throw fail(`removing ${path} failed: ${systemMessage(err)}`);
        }
    }

    readonly fleetNames = {
        arriving: (state: string): string => `${this.layout.statesDir}/.fleet-in-${state}`,
        replica: (state: string): string => `${this.layout.statesDir}/.replicas/${state}`,
    };

    async replicaSnapshots(state: string): Promise<string[]> {
        const dir = this.layout.root.tryPath(["states", ".replicas", state]);
        try {
            return dir === undefined
                ? []
                : readdirSync(dir)
                      .filter((f) => f.endsWith(".img") && !f.startsWith("."))
                      .map((f) => f.slice(0, -4))
                      .sort();
        } catch {
            return [];
        }
    }

    usage(state: string): Usage {
        const path = this.layout.root.tryPath(["states", state, "data.img"]);
        const stat = path === undefined ? null : lstatOrNull(path);
        return stat?.isFile()
            ? { sizeBytes: stat.size, allocatedBytes: stat.blocks * 512 }
            : { sizeBytes: null, allocatedBytes: null };
    }

    async usedBytes(state: string): Promise<number | null> {
        return this.usage(state).allocatedBytes;
    }

    async capacity(): Promise<Capacity | null> {
        try {
            const s = statfsSync(this.layout.states());
            return { freeBytes: s.bavail * s.bsize, sizeBytes: s.blocks * s.bsize };
        } catch {
            return null;
        }
    }
}
