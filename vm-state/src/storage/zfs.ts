/**
 * The zfs backend: a state is the dataset `<pool>/states/<state>`, mounted at `states/<state>`
 * (children inherit the mountpoint of `<pool>/states`); snapshots are native.
 *
 * clone and restore are `zfs clone` of a snapshot: instant, no space until written. A clone
 * depends on its origin snapshot, so what clones depend on is never destroyed: `delete` of such a
 * state renames it to `<pool>/deleted/<state>.<time>` (mountpoint none), `delete-snapshot` renames
 * the snapshot to `<state>@_deleted-<snap>-<time>`; both vanish from every listing and free their
 * name at once, and gc destroys them when the last dependent is gone (as LXD and Incus do). Never
 * `zfs promote` (it inverts the dependency), never `destroy -R` (it destroys dependents).
 * `--independent` copies with `zfs send | zfs receive` instead: nothing shared.
 */
import { realpathSync } from "fs";
import { fail } from "../errors";
import { isName } from "../names";
import { utcStamp } from "../time";
import { copyImage, makeImage } from "./image";
import { Capacity, HiddenEntry, LiveCopy, SnapshotInfo, StorageContext, StorageDriver, Usage } from "./driver";
import { FilesDriver, movedCopyName } from "./files";

/** vm-state's own hidden snapshots (never sanoid's `autosnap_*`, never a user's). */
export const ownHiddenPrefixes: readonly string[] = ["_clone-", "_deleted-", "_vmstate-"];

const lines = (text: string): string[] => text.split("\n").filter((l) => l !== "");

/** A snapshot as `zfs list` shows it: full name (`ds@snap`), name after the @, creation (seconds since the epoch). */
interface ListedSnapshot {
    readonly full: string;
    readonly name: string;
    readonly created: number;
}

/** `zfs list` of DATASET's own snapshots, oldest first: one `NAME<TAB>CREATION` line each. */
const snapshotListing = (dataset: string): string[] => [
    "list",
    "-H",
    "-p",
    "-o",
    "name,creation",
    "-t",
    "snapshot",
    "-s",
    "creation",
    "-d",
    "1",
    dataset,
];

const listedSnapshots = (out: string): ListedSnapshot[] =>
    lines(out)
        .map((l) => l.split("\t"))
        .map(([full, creation]) => ({ full, name: full.slice(full.indexOf("@") + 1), created: Number(creation) }));

/** `destroyOrHide`'s result: where it was hidden (undefined: destroyed) and the clones that hold it. */
interface Hidden {
    readonly as?: string;
    readonly heldBy: readonly string[];
}

export class ZfsDriver implements StorageDriver {
    readonly backend = "zfs" as const;
    readonly live: LiveCopy = "atomic";
    /** The mounted images are files: their sizes are read as on the files backend. */
    private readonly files: FilesDriver;

    constructor(readonly ctx: StorageContext) {
        this.files = new FilesDriver(ctx);
    }

    get pool(): string {
        return this.ctx.config.pool;
    }

    dataset(state: string): string {
        return `${this.pool}/states/${state}`;
    }

    zfs(args: readonly string[]) {
        return this.ctx.proc.exec(this.ctx.run.env.commands.zfs, args);
    }

    attempt(what: string, args: readonly string[]): Promise<string> {
        return this.ctx.proc.attempt(what, this.ctx.run.env.commands.zfs, args);
    }

    /** A dataset or snapshot exists. */
    async has(name: string): Promise<boolean> {
        return (await this.zfs(["list", "-H", "-o", "name", name])).code === 0;
    }

    exists(state: string): Promise<boolean> {
        return this.has(this.dataset(state));
    }

    /** `<pool>/states` and the datasets right under it, by full name (one zfs call). */
    private async statesChildren(): Promise<string[]> {
        const out = await this.attempt(`listing ${this.pool}/states`, [
            "list",
            "-H",
            "-o",
            "name",
            "-t",
            "filesystem",
            "-d",
            "1",
            `${this.pool}/states`,
        ]);
        return lines(out);
    }

    async list(): Promise<string[]> {
        const prefix = `${this.pool}/states/`;
        return (await this.statesChildren())
            .filter((n) => n.startsWith(prefix))
            .map((n) => n.slice(prefix.length))
            .filter((n) => isName("state", n));
    }

    async snapshotExists(state: string, snapshot: string): Promise<boolean> {
        return (
            (await this.zfs(["list", "-H", "-o", "name", "-t", "snapshot", `${this.dataset(state)}@${snapshot}`]))
                .code === 0
        );
    }

    async snapshotObstacle(): Promise<string | undefined> {
        return undefined; // a snapshot name is either a snapshot or free
    }

    /** The snapshots of DATASET, oldest first (one zfs call; WHAT names it in an error). */
    async datasetSnapshots(dataset: string, what: string): Promise<ListedSnapshot[]> {
        return listedSnapshots(await this.attempt(what, snapshotListing(dataset)));
    }

    async snapshots(state: string): Promise<SnapshotInfo[]> {
        return (await this.datasetSnapshots(this.dataset(state), `listing the snapshots of ${state}`))
            .map(({ name, created }) => ({ name, created }))
            .filter((s) => isName("snapshot", s.name));
    }

    /**
     * Every filesystem in the pool (and every snapshot, with SNAPSHOTS) with the snapshot it is a
     * clone of: its origin, "" when it is none (zfs prints `-`). One zfs call.
     */
    private async poolOrigins(snapshots: boolean): Promise<{ name: string; origin: string }[]> {
        const out = await this.attempt(`listing ${this.pool}`, [
            "list",
            "-H",
            "-o",
            "name,origin",
            "-t",
            snapshots ? "filesystem,snapshot" : "filesystem",
            "-r",
            this.pool,
        ]);
        return lines(out)
            .map((l) => l.split("\t"))
            .map(([name, origin]) => ({ name, origin: origin === undefined || origin === "-" ? "" : origin }));
    }

    /** Every clone in the pool and the snapshot it depends on (one zfs call). */
    private async origins(): Promise<{ clone: string; origin: string }[]> {
        return (await this.poolOrigins(false))
            .filter(({ origin }) => origin !== "")
            .map(({ name, origin }) => ({ clone: name, origin }));
    }

    /** The clones of a snapshot (`ds@snap`), or of any snapshot of a dataset (a name without @). */
    async dependents(name: string): Promise<string[]> {
        return (await this.origins())
            .filter(({ origin }) => origin === name || (!name.includes("@") && origin.startsWith(`${name}@`)))
            .map(({ clone }) => clone);
    }

    async snapshotHeld(state: string, snapshot: string): Promise<boolean> {
        return (await this.dependents(`${this.dataset(state)}@${snapshot}`)).length > 0;
    }

    /** A state's name for its dataset, the full name for anything else. */
    private shownDataset(name: string): string {
        const prefix = `${this.pool}/states/`;
        return name.startsWith(prefix) ? name.slice(prefix.length) : name;
    }

    /** The temporary dataset a new state is built in, destroyed if the command fails. */
    private temporary(state: string) {
        const tmp = this.dataset(`_tmp-${state}`);
        const undo = this.ctx.run.onFailure(async () => {
            await this.zfs(["destroy", "-r", tmp]);
        });
        return { tmp, undo };
    }

    /** Renames the temporary dataset into place (last), mounting it if `receive -u` left it unmounted. */
    private async finish(state: string, undo: { dismiss(): void }, mount: boolean): Promise<void> {
        const tmp = this.dataset(`_tmp-${state}`);
        await this.attempt(`renaming ${tmp}`, ["rename", tmp, this.dataset(state)]);
        undo.dismiss();
        if (mount) {
            await this.attempt(`mounting ${this.dataset(state)}`, ["mount", this.dataset(state)]);
        }
    }

    /** Where a new dataset is mounted: it must be its directory under states/ (the pool's layout). */
    private async mountedImage(dataset: string, entry: string): Promise<string> {
        const mountpoint = (
            await this.attempt(`reading the mountpoint of ${dataset}`, [
                "get",
                "-H",
                "-o",
                "value",
                "mountpoint",
                dataset,
            ])
        ).trim();
        const expected = this.ctx.layout.statesEntry(entry);
        let same = false;
        try {
            same = realpathSync(mountpoint) === realpathSync(expected);
        } catch {
            // either path missing: not the same place
        }
        if (!same) {
            throw fail(
                `${dataset} is mounted at ${mountpoint}, not at ${expected}: ${this.pool}/states must have ${this.ctx.layout.statesDir} as its mountpoint`,
            );
        }
        return this.ctx.layout.root.path(["states", entry, "data.img"]);
    }

    async create(state: string, sizeGiB: number): Promise<void> {
        const { tmp, undo } = this.temporary(state);
        await this.attempt(`creating dataset ${tmp}`, ["create", tmp]);
        await makeImage(this.ctx, await this.mountedImage(tmp, `_tmp-${state}`), sizeGiB);
        await this.finish(state, undo, false);
    }

    private sendReceive(what: string, snapshot: string, target: string): Promise<void> {
        const zfs = this.ctx.run.env.commands.zfs;
        return this.ctx.proc.pipe(what, [zfs, ["send", snapshot]], [zfs, ["receive", "-u", target]]);
    }

    async clone(source: string, target: string, independent: boolean): Promise<void> {
        if (independent) {
            const snap = `${this.dataset(source)}@_vmstate-copy-${process.pid}`;
            const undoSnap = this.ctx.run.onFailure(async () => {
                await this.zfs(["destroy", snap]);
            });
            const { tmp, undo } = this.temporary(target);
            await this.attempt(`zfs snapshot ${snap}`, ["snapshot", snap]);
            await this.sendReceive(`copying state ${source} (zfs send | zfs receive)`, snap, tmp);
            await this.attempt(`zfs destroy ${tmp}@_vmstate-copy-${process.pid}`, [
                "destroy",
                `${tmp}@_vmstate-copy-${process.pid}`,
            ]);
            await this.attempt(`zfs destroy ${snap}`, ["destroy", snap]);
            undoSnap.dismiss();
            await this.finish(target, undo, true);
            return;
        }
        // The origin is a hidden snapshot of its own, so the source's snapshots stay its own business.
        const snap = `${this.dataset(source)}@_clone-${target}-${utcStamp(new Date(), "")}`;
        const undoSnap = this.ctx.run.onFailure(async () => {
            await this.zfs(["destroy", snap]);
        });
        await this.attempt(`zfs snapshot ${snap}`, ["snapshot", snap]);
        const { tmp, undo } = this.temporary(target);
        await this.attempt(`zfs clone ${snap} ${tmp}`, ["clone", snap, tmp]);
        await this.finish(target, undo, false);
        undoSnap.dismiss();
    }

    async restore(state: string, snapshot: string, target: string, independent: boolean): Promise<void> {
        const src = `${this.dataset(state)}@${snapshot}`;
        const { tmp, undo } = this.temporary(target);
        if (independent) {
            await this.sendReceive(`copying snapshot ${state}@${snapshot} (zfs send | zfs receive)`, src, tmp);
            await this.attempt(`zfs destroy ${tmp}@${snapshot}`, ["destroy", `${tmp}@${snapshot}`]);
            await this.finish(target, undo, true);
        } else {
            await this.attempt(`zfs clone ${src} ${tmp}`, ["clone", src, tmp]);
            await this.finish(target, undo, false);
        }
    }

    async snapshot(state: string, snapshot: string): Promise<void> {
        await this.attempt(`zfs snapshot ${this.dataset(state)}@${snapshot}`, [
            "snapshot",
            `${this.dataset(state)}@${snapshot}`,
        ]);
    }

    /** A dataset that only holds others (`<pool>/deleted`, moved, replicas), made when first needed. */
    async parent(dataset: string): Promise<void> {
        if (!(await this.has(dataset))) {
            await this.attempt(`creating ${dataset}`, ["create", "-o", "mountpoint=none", dataset]);
        }
    }

    /** `<pool>/PARENT/STATE.<time>`, or with -2, -3... the first that is not taken. */
    async hiddenName(parent: string, state: string): Promise<string> {
        const base = `${this.pool}/${parent}/${state}.${utcStamp(new Date(), "")}`;
        let name = base;
        for (let n = 2; await this.has(name); n++) {
            name = `${base}-${n}`;
        }
        return name;
    }

    /** Destroys DATASET with its snapshots, or, while clones depend on it, hides it under `<pool>/deleted` (gc destroys it after the last clone). */
    async destroyOrHide(dataset: string, state: string): Promise<Hidden> {
        const heldBy = await this.dependents(dataset);
        if (heldBy.length === 0) {
            await this.attempt(`zfs destroy -r ${dataset}`, ["destroy", "-r", dataset]);
            return { heldBy };
        }
        await this.parent(`${this.pool}/deleted`);
        const as = await this.hiddenName("deleted", state);
        await this.attempt(`hiding ${dataset}`, ["rename", dataset, as]);
        return { as, heldBy };
    }

    async delete(state: string): Promise<void> {
        const hidden = await this.destroyOrHide(this.dataset(state), state);
        if (hidden.as) {
            this.ctx.run.log(
                `state ${state} is hidden as ${hidden.as} until what depends on it is deleted: ${hidden.heldBy.map((d) => this.shownDataset(d)).join(" ")}`,
            );
        }
    }

    async deleteSnapshot(state: string, snapshot: string): Promise<void> {
        const snap = `${this.dataset(state)}@${snapshot}`;
        const deps = await this.dependents(snap);
        if (deps.length === 0) {
            await this.attempt(`zfs destroy ${snap}`, ["destroy", snap]);
            return;
        }
        const hidden = `${this.dataset(state)}@_deleted-${snapshot}-${utcStamp(new Date(), "")}`;
        await this.attempt(`hiding ${snap}`, ["rename", snap, hidden]);
        this.ctx.run.log(
            `snapshot ${state}@${snapshot} is hidden as ${hidden} until what depends on it is deleted: ${deps.map((d) => this.shownDataset(d)).join(" ")}`,
        );
    }

    async adopt(file: string, state: string): Promise<void> {
        const { tmp, undo } = this.temporary(state);
        await this.attempt(`creating dataset ${tmp}`, ["create", tmp]);
        await copyImage(this.ctx, file, await this.mountedImage(tmp, `_tmp-${state}`), file, "reflink-or-sparse");
        await this.finish(state, undo, false);
    }

    async leftovers(): Promise<void> {
        for (const name of await this.statesChildren()) {
            if (name.startsWith(`${this.pool}/states/_tmp-`)) {
                this.ctx.run.log(`destroying ${name} left by an interrupted run`);
                await this.attempt(`zfs destroy -r ${name}`, ["destroy", "-r", name]);
            }
        }
        await this.gc();
    }

    private isOwnHidden(name: string): boolean {
        const snap = name.slice(name.indexOf("@") + 1);
        return ownHiddenPrefixes.some((p) => snap.startsWith(p));
    }

    /**
     * Destroys, until nothing changes, what is hidden and held by nothing: vm-state's own hidden
     * snapshots without clones, every snapshot of a hidden dataset without clones, then hidden
     * datasets without snapshots (destroying one may free its own origin in turn).
     */
    async gc(): Promise<void> {
        const deleted = `${this.pool}/deleted/`;
        const states = `${this.pool}/states/`;
        for (let acted = true; acted;) {
            acted = false;
            const rows = await this.poolOrigins(true);
            const held = new Set(rows.map(({ origin }) => origin).filter((o) => o !== ""));
            const snapshotCount = new Map<string, number>();
            for (const { name } of rows) {
                if (name.includes("@")) {
                    const ds = name.slice(0, name.indexOf("@"));
                    snapshotCount.set(ds, (snapshotCount.get(ds) ?? 0) + 1);
                }
            }
            for (const { name } of rows) {
                const isSnap = name.includes("@");
                const collect =
                    (isSnap &&
                        !held.has(name) &&
                        (name.startsWith(deleted) || (name.startsWith(states) && this.isOwnHidden(name)))) ||
                    (!isSnap &&
                        name.startsWith(deleted) &&
                        !name.slice(deleted.length).includes("/") &&
                        !snapshotCount.has(name));
                if (collect) {
                    this.ctx.run.log(`gc: destroying ${name} (nothing depends on it)`);
                    await this.attempt(`zfs destroy ${name}`, ["destroy", name]);
                    acted = true;
                }
            }
        }
    }

    /** What a hidden snapshot was: `S@SNAP`, or the origin of a clone. */
    private hiddenWas(name: string): string {
        const [ds, snap] = [name.slice(0, name.indexOf("@")), name.slice(name.indexOf("@") + 1)];
        const state = this.shownDataset(ds);
        if (snap.startsWith("_deleted-")) {
            return `${state}@${snap.slice("_deleted-".length).replace(/-[^-]*$/, "")}`;
        }
        if (snap.startsWith("_clone-")) {
            return `origin of ${snap.slice("_clone-".length).replace(/-[^-]*$/, "")} (from ${state})`;
        }
        return `${state}@${snap}`;
    }

    async hidden(): Promise<HiddenEntry[]> {
        const rows = await this.poolOrigins(true);
        const holders = new Map<string, Set<string>>();
        const hold = (key: string, by: string): void => {
            holders.set(key, (holders.get(key) ?? new Set()).add(by));
        };
        for (const { name, origin } of rows) {
            if (origin !== "") {
                hold(origin, this.shownDataset(name));
                hold(origin.slice(0, origin.indexOf("@")), this.shownDataset(name));
            }
        }
        const heldBy = (name: string): string[] => [...(holders.get(name) ?? [])].sort();
        const entries: HiddenEntry[] = [];
        for (const { name } of rows) {
            if (name.startsWith(`${this.pool}/deleted/`) && !name.includes("@")) {
                const base = name.slice(name.lastIndexOf("/") + 1);
                entries.push({
                    name,
                    was: base.slice(0, base.indexOf(".") < 0 ? undefined : base.indexOf(".")),
                    heldBy: heldBy(name),
                });
            } else if (name.startsWith(`${this.pool}/states/`) && name.includes("@") && this.isOwnHidden(name)) {
                entries.push({ name, was: this.hiddenWas(name), heldBy: heldBy(name) });
            }
        }
        return entries;
    }

    async prepare(): Promise<void> {
        // the pool is the NixOS side's (state-pool-setup)
    }

    movedCopy(hidden: string): string | undefined {
        return movedCopyName(hidden, `${this.pool}/moved/`);
    }

    async purgeMoved(name: string): Promise<void> {
        const dataset = `${this.pool}/moved/${name}`;
        if (!(await this.has(dataset))) {
            return;
        }
        const hidden = await this.destroyOrHide(dataset, name.slice(0, name.lastIndexOf(".")));
        if (hidden.as) {
            this.ctx.run.log(`${dataset} is hidden as ${hidden.as} until what depends on it is deleted`);
        }
    }

    readonly fleetNames = {
        arriving: (state: string): string => this.dataset(`_fleet-in-${state}`),
        replica: (state: string): string => `${this.pool}/replicas/${state}`,
    };

    async replicaSnapshots(state: string): Promise<string[]> {
        const r = await this.zfs(snapshotListing(this.fleetNames.replica(state)));
        return r.code === 0 ? listedSnapshots(r.stdout).map((s) => s.name) : [];
    }

    usage(state: string): Usage {
        return this.files.usage(state);
    }

    private async property(name: string, property: string): Promise<number | null> {
        const r = await this.zfs(["get", "-H", "-p", "-o", "value", property, name]);
        const value = Number(r.stdout.trim());
        return r.code === 0 && Number.isFinite(value) ? value : null;
    }

    usedBytes(state: string): Promise<number | null> {
        return this.property(this.dataset(state), "used");
    }

    async capacity(): Promise<Capacity | null> {
        const free = await this.property(this.pool, "available");
        const used = await this.property(this.pool, "used");
        return free === null || used === null ? null : { freeBytes: free, sizeBytes: free + used };
    }
}
