/**
 * What lives where under the root (docs/vm-state.md "Layout"). Every path is built here from
 * names and goes through `Root.path`; no other module joins paths under the root by hand.
 *
 *   states/<state>/data.img                      a state (zfs: dataset mounted at states/<state>)
 *   states/<state>/.snapshots/<snap>.img         its snapshots (files, xfs)
 *   states/.tmp-<name>, .snapshots/.tmp-<snap>.img, states/.tmp-del.<name>   in the making / going
 *   states/.vm-state-reflink                     xfs: the filesystem was checked for reflinks
 *   <slot>/data.img -> <root>/states/<state>/data.img   the slot's disk
 *   <slot>/<slot>.sock, <slot>/current, <slot>/booted   microvm.nix's (read only)
 *   .vm-state.lock, .vm-state-journal.json (.vm-state-apply.json before), .vm-state-applied.json
 *   .vm-state-metrics/last-<command>.json        the last run of each change, for `metrics`
 *   .vm-state-fleet/                             the fleet's records (fleet/records.ts)
 */
import { Root, RootPath } from "./root";

export const statesDirName = "states";
/** Temporary names can never be a state's, a snapshot's or a slot's (the name rule starts with a letter). */
export const tempPrefix = ".tmp-";
export const journalName = ".vm-state-journal.json";
/** Written by vm-state before the journal was shared by every command; read once and removed. */
export const legacyJournalName = ".vm-state-apply.json";
/** The journal's temporary files: `.vm-state-journal.` and six characters (as bash's mktemp made them). */
export const journalTempPattern = /^\.vm-state-journal\.[A-Za-z0-9]{6}$/;
export const appliedName = ".vm-state-applied.json";
export const metricsDirName = ".vm-state-metrics";
export const fleetDirName = ".vm-state-fleet";
export const reflinkMarkName = ".vm-state-reflink";

export class Layout {
    constructor(readonly root: Root) {}

    get rootDir(): string {
        return this.root.dir;
    }

    /** `<root>/states`, for messages. */
    get statesDir(): string {
        return `${this.root.dir}/${statesDirName}`;
    }

    states(): RootPath {
        return this.root.path([statesDirName]);
    }
    /** An entry directly under states/ (a state's directory, a temporary one, a mark). */
    statesEntry(name: string): RootPath {
        return this.root.path([statesDirName, name]);
    }
    stateImage(state: string): RootPath {
        return this.root.path([statesDirName, state, "data.img"]);
    }
    snapshotsDir(state: string): RootPath {
        return this.root.path([statesDirName, state, ".snapshots"]);
    }
    snapshotsEntry(state: string, name: string): RootPath {
        return this.root.path([statesDirName, state, ".snapshots", name]);
    }
    snapshotImage(state: string, snapshot: string): RootPath {
        return this.snapshotsEntry(state, `${snapshot}.img`);
    }
    /** What a slot's link points at: the state's image by its path under the root as given. */
    imageTarget(state: string): string {
        return `${this.statesDir}/${state}/data.img`;
    }

    slotDir(slot: string): RootPath {
        return this.root.path([slot]);
    }
    slotLink(slot: string): RootPath {
        return this.root.path([slot, "data.img"], { lastMayBeLink: true });
    }
    /** The new link, made before anything stops and renamed over `data.img`. */
    slotLinkTemp(slot: string): RootPath {
        return this.root.path([slot, "data.img.tmp"], { lastMayBeLink: true });
    }
    /** Cloud Hypervisor's API socket: microvm.nix's `microvm.socket` "<hostName>.sock" in the unit's working directory <stateDir>/<name>; our guests' hostName is the slot. */
    apiSocket(slot: string): RootPath {
        return this.root.path([slot, `${slot}.sock`]);
    }
    /** microvm.nix's runner links in the slot's directory: `current` (declared) and `booted`. */
    runnerLink(slot: string, kind: "current" | "booted"): RootPath {
        return this.root.path([slot, kind], { lastMayBeLink: true });
    }

    journal(): RootPath {
        return this.root.path([journalName]);
    }
    legacyJournal(): RootPath {
        return this.root.path([legacyJournalName]);
    }
    rootEntry(name: string): RootPath {
        return this.root.path([name]);
    }
    applied(): RootPath {
        return this.root.path([appliedName]);
    }
    metricsDir(): RootPath {
        return this.root.path([metricsDirName]);
    }
    metricsRecord(command: string): RootPath {
        return this.root.path([metricsDirName, `last-${command}.json`]);
    }
    fleetDir(): RootPath {
        return this.root.path([fleetDirName]);
    }
    fleetRecord(kind: string, file: string): RootPath {
        return this.root.path([fleetDirName, kind, file]);
    }
}
