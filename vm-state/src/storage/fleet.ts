/**
 * The serving side of the fleet's transfers, per backend family (files and xfs share theirs, a
 * file moved by rsync; zfs sends and receives datasets): what `fleet-serve` does with a state
 * leaving this host and with a replica held here. zfs streams go to the forced command's stdout
 * and come from its stdin (fd 1, fd 0: the ssh channel), run with argument arrays, their stderr
 * reported as vm-state's; a files/xfs image goes by rsync, the serving side's rsync restricted by
 * rrsync to the one directory the transfer needs (fleet/rsync.ts).
 */
import { stateSizeGiB } from "../../../lib/deploymentData";
import type { Receiver } from "../fleet/transport";
import { Usage } from "./driver";

export type Which = "initial" | "final";

/** The largest image a state can have (lib/deploymentData.ts stateSizeGiB.max): rsync's --max-size for what arrives. */
export const largestImage = stateSizeGiB.max * 1024 ** 3;

/**
 * A file that rsync moves: LOCAL on this host, REMOTE the path the other host's fleet-serve maps
 * to the one directory rrsync restricts that transfer to (`<state>/data.img` for a move's send,
 * `<state>/<snap>` for a replica's receive: the directory the sender's data.img goes into).
 */
export interface RsyncFile {
    readonly rsync: true;
    readonly local: string;
    readonly remote: string;
}

/** `_replica-<host>-YYYYmmdd-HHMMSS[-N]` -> `replica-YYYYmmdd-HHMMSS[-N]`, a snapshot name users can use; undefined if not a replica copy. */
export function replicaVisibleName(snap: string): string | undefined {
    const m = /-([0-9]{8}-[0-9]{6}(-[0-9]+)?)$/.exec(snap);
    return snap.startsWith("_replica-") && m !== null ? `replica-${m[1]}` : undefined;
}

export interface ReplicaInfo {
    readonly from: string | null;
    readonly snapshots: readonly string[];
    readonly latest: string | null;
    readonly latestGuid: string | null;
    readonly resumeToken: string | null;
}

export interface FleetStorage {
    /** Marks what the next send sends (zfs: a snapshot `_fleet-move-1`, `-2`); files: nothing. */
    outPrepare(state: string, which: Which): Promise<void>;
    /**
     * The state (initial, while it may run) or what changed since (final, stopped), to stdout
     * (zfs); files/xfs send nothing here and say where the image is for rsync (`{transfer:
     * "rsync", path}`, the answer fleet-serve prints).
     */
    outSend(state: string, which: Which): Promise<Record<string, unknown> | undefined>;
    /** The one directory rrsync -ro may read for a move's rsync send of STATE (files/xfs); undefined elsewhere. */
    outRsyncDir(state: string): string | undefined;
    /** An interrupted send resumed from the receiver's token (zfs only), checked to be one of ours (PREFIX). */
    outSendResume(state: string, token: string, prefix: string): Promise<void>;
    /** The move's marks go (a cancelled move). */
    outCleanup(state: string): Promise<void>;
    /** The state, moved away, kept hidden: where (a path or a dataset, as `gc --fleet-moved` finds it). */
    outHide(state: string): Promise<string>;
    /** The newest hidden copy of STATE (`outHide`'s names), for a finish-move killed after it hid the state; undefined if none. */
    outFindHidden(state: string): Promise<string | undefined>;

    replicaExists(state: string): Promise<boolean>;
    replicaInfo(state: string, from: string | null): Promise<ReplicaInfo>;
    /**
     * A replica's copy SNAP (or, zfs, the resumed stream) from stdin (zfs); files/xfs: the
     * temporary directory the source's rsync writes SNAP into (seeded with the newest copy, so
     * the push is a delta), announced for `replicaRsyncDir` and kept by `replicaKeep`.
     */
    replicaReceive(state: string, snap: string): Promise<Record<string, unknown> | undefined>;
    /** The one directory rrsync -wo may write for the announced SNAP of STATE's replica (files/xfs); undefined when none is announced. */
    replicaRsyncDir(state: string, snap: string): string | undefined;
    /** SNAP arrived by rsync (files/xfs): kept as the replica's copy once it is a regular file of at most the largest image. */
    replicaKeep(state: string, snap: string): Promise<void>;
    replicaDestroySnapshot(state: string, snap: string): Promise<void>;
    /**
     * The replica becomes the state NAME: its newest copy the image, the older ones its snapshots
     * `replica-<time>`. Built under its final name or in the replica's own directory (never a
     * temporary name a later change would remove: this may be the only copy there is), so an
     * interrupted promote goes on where it stopped.
     */
    replicaPromote(state: string, name: string): Promise<void>;
    /** The target's side of a move, into `fleetNames.arriving(state)`. */
    /** The resume token of an interrupted receive (zfs), or "". */
    inToken(state: string): Promise<string>;
    /** Drops what arrived of STATE. */
    inAbort(state: string): Promise<void>;
    /** Makes room for the copy and says what receives it: a stream's receiver (zfs) or the file rsync writes (files/xfs, the catch-up over the first copy). */
    inReceiver(state: string, which: Which | "resume"): Promise<Receiver | RsyncFile>;
    /** After a stream was received: checks what it left; after a failed one (ok false) removes what it may have left. */
    inAfter(state: string, which: Which | "resume", ok: boolean): Promise<void>;
    /**
     * Room for the catch-up, checked before the source stops: the bytes the catch-up may need
     * beyond what the first copy holds (the source image's allocation now minus the first copy's),
     * and the free bytes where it lands; undefined where the backend cannot tell (zfs: an
     * incremental stream of what changed).
     */
    inRoom(state: string, sourceAllocated: number): { needed: number; free: number } | undefined;
    /** The copy WHICH arrived whole. */
    inComplete(state: string, which: Which): Promise<boolean>;
    /** Renames what arrived to the state's name (the state exists here from then on). */
    inPlace(state: string): Promise<void>;

    /** Replication, the source's side. A frozen copy of the state as SNAP (files: a copy in `states/.fleet-out/<state>`, the VM paused for it; zfs: a snapshot). */
    replMark(state: string, snap: string, pause: (action: () => Promise<void>) => Promise<void>): Promise<void>;
    /** What sends the rest of an interrupted replication (zfs), its token checked first (PREFIX: this transfer's snapshots). */
    resumeSender(state: string, token: string, prefix: string): Promise<{ cmd: string; args: string[] }>;
    /** What sends SNAP (incrementally from BASE where the backend can): a stream (zfs) or the frozen copy rsync sends (files/xfs). */
    replSender(state: string, snap: string, base: string): { cmd: string; args: string[] } | RsyncFile;
    /** SNAP already exists here (a name to avoid). */
    replExists(state: string, snap: string): Promise<boolean>;
    /** BASE, the target's newest copy, exists here with that guid (zfs; files send full copies). */
    replHasBase(state: string, base: string, guid: string): Promise<boolean>;
    /** After a replication to TO, or a failed one (SNAP empty): what the source keeps (files: nothing; zfs: the newest mark sent there). */
    replDone(state: string, snap: string, to: string): Promise<void>;

    /** Size of the state's image, for the peer's status. */
    image(state: string): Usage;
}

/** The serving side for the driver's backend (loaded only by the fleet commands). */
export async function openFleetStorage(
    ctx: import("./driver").StorageContext,
    driver: import("./driver").StorageDriver,
): Promise<FleetStorage> {
    if (driver.backend === "zfs") {
        const { ZfsFleet } = await import("./fleetZfs");
        const { ZfsDriver } = await import("./zfs");
        if (!(driver instanceof ZfsDriver)) {
            throw new Error("vm-state: internal error: a zfs backend without the zfs driver");
        }
        return new ZfsFleet(driver);
    }
    const { FilesFleet } = await import("./fleetFiles");
    return new FilesFleet(ctx, driver);
}
