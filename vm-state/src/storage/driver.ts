/**
 * The storage interface (docs/vm-state.md "Backends"): the commands speak to a `StorageDriver`,
 * never to `zfs` or to files directly. One implementation per backend, each backend's quirks in
 * its own file, as Incus's storage drivers: files.ts (a state is a directory holding data.img),
 * xfs.ts (the same, every copy a reflink), zfs.ts (a state is a dataset). open.ts picks one.
 */
import { HostConfig, StorageBackend } from "../config";
import { Layout } from "../layout";
import { Proc } from "../proc";
import { Run } from "../run";

export interface SnapshotInfo {
    readonly name: string;
    /** Creation time, seconds since the epoch. */
    readonly created: number;
}

/** Data kept only because something depends on it (zfs), shown by `list --all`. */
export interface HiddenEntry {
    readonly name: string;
    readonly was: string;
    readonly heldBy: readonly string[];
}

/** Apparent and allocated size of a state's image; null when there is no image to measure. */
export interface Usage {
    readonly sizeBytes: number | null;
    readonly allocatedBytes: number | null;
}

export interface Capacity {
    readonly freeBytes: number;
    readonly sizeBytes: number;
}

/** How a copy of a running VM's disk is made consistent: pause the VM (files, xfs) or nothing to do (zfs snapshots are atomic). */
export type LiveCopy = "pause" | "atomic";

/** What every driver is given: the run, its commands, the layout and the configuration. */
export interface StorageContext {
    readonly run: Run;
    readonly proc: Proc;
    readonly layout: Layout;
    readonly config: HostConfig;
}

export interface StorageDriver {
    readonly backend: StorageBackend;
    readonly live: LiveCopy;

    exists(state: string): Promise<boolean>;
    /** The states, by name. */
    list(): Promise<string[]>;
    snapshotExists(state: string, snapshot: string): Promise<boolean>;
    /** Something in the way of a new snapshot of that name that is not one (a FIFO, a directory): why, or undefined. */
    snapshotObstacle(state: string, snapshot: string): Promise<string | undefined>;
    /** Oldest first. */
    snapshots(state: string): Promise<SnapshotInfo[]>;
    /** Something (a zfs clone) depends on the snapshot. */
    snapshotHeld(state: string, snapshot: string): Promise<boolean>;

    /** Each of these builds the new state under a temporary name and renames it last. */
    create(state: string, sizeGiB: number): Promise<void>;
    clone(source: string, target: string, independent: boolean): Promise<void>;
    restore(state: string, snapshot: string, target: string, independent: boolean): Promise<void>;
    snapshot(state: string, snapshot: string): Promise<void>;
    /** The state and its snapshots (hidden while something depends on them). */
    delete(state: string): Promise<void>;
    deleteSnapshot(state: string, snapshot: string): Promise<void>;
    /** Turns a disk image file (a slot's own `data.img`) into the new state; the file may stay until replaced by the slot's link. */
    adopt(file: string, state: string): Promise<void>;

    /** Removes what a killed run left (under the lock). */
    leftovers(): Promise<void>;
    /** Destroys hidden data nothing depends on any more (under the lock). */
    gc(): Promise<void>;
    hidden(): Promise<HiddenEntry[]>;
    /** Checks before a change (xfs: the filesystem has reflinks). */
    prepare(): Promise<void>;

    /** Where the fleet keeps a state arriving by a move, and a replica held here (names, for `list --all`). */
    readonly fleetNames: { arriving(state: string): string; replica(state: string): string };
    /**
     * The copy a finished move left here, as its record names it (`hidden`): its name among the
     * moved copies (`<state>.<time>`), or undefined when the record names anything else.
     */
    movedCopy(hidden: string): string | undefined;
    /** Destroys a moved copy (a name `movedCopy` returned); zfs hides it with the deleted while a clone depends on it. */
    purgeMoved(name: string): Promise<void>;
    /** The copies a replica of STATE held here has (`_replica-<host>-<time>`), oldest first. */
    replicaSnapshots(state: string): Promise<string[]>;

    usage(state: string): Usage;
    /** Bytes the state allocates, for metrics (files/xfs: st_blocks*512; zfs: `used`). */
    usedBytes(state: string): Promise<number | null>;
    /** Free and total space where the states live, for metrics. */
    capacity(): Promise<Capacity | null>;
}
