/**
 * What a command works with, made once per run: a `View` for the read-only commands (no lock, no
 * root needed beyond reading), a `Change` for the others: the lock taken, the layout checked for
 * links, what a killed run left removed, the backend's checks passed and the journal of an
 * interrupted change finished (recovery.ts) before the command does its own work.
 */
import { Dirent, mkdirSync, readdirSync, rmSync } from "fs";
import { HostConfig, loadConfig } from "./config";
import { fail } from "./errors";
import { FleetRecords } from "./fleet/records";
import { Journal } from "./journal";
import {
    appliedName,
    fleetDirName,
    journalName,
    journalTempPattern,
    Layout,
    legacyJournalName,
    metricsDirName,
    statesDirName,
    tempPrefix,
} from "./layout";
import { Lock } from "./lock";
import { Proc } from "./proc";
import { lstatOrNull, Root } from "./root";
import { Run } from "./run";
import { Slots } from "./slots";
import { StorageDriver } from "./storage/driver";
import { openDriver } from "./storage/open";
import { systemMessage } from "./text";

export interface View {
    readonly run: Run;
    readonly proc: Proc;
    readonly config: HostConfig;
    readonly layout: Layout;
    readonly driver: StorageDriver;
    readonly slots: Slots;
    readonly records: FleetRecords;
}

export interface Change extends View {
    readonly lock: Lock;
    readonly journal: Journal;
}

export function openView(run: Run, config: HostConfig = loadConfig(run.env)): View {
    const proc = new Proc(run);
    const layout = new Layout(new Root(run.env.root));
    const driver = openDriver({ run, proc, layout, config });
    return {
        run,
        proc,
        config,
        layout,
        driver,
        slots: new Slots(run, proc, layout, config),
        records: new FleetRecords(layout),
    };
}

/**
 * Refuses (exit 4) a symbolic link where vm-state expects its own directory or file: states/ and
 * every entry in it (a state's directory, its .snapshots and data.img, vm-state's dot entries),
 * each slot's directory, the journal, and vm-state's other files and directories under the root.
 */
export function checkLayout(layout: Layout, config: HostConfig): void {
    const root = layout.root;
    for (const name of [statesDirName, journalName, legacyJournalName, appliedName, metricsDirName, fleetDirName]) {
        root.path([name]);
    }
    let entries: Dirent[] = [];
    try {
        // The entries' types come with the directory (d_type): no lstat per entry, so the cost of a
        // change grows by two lstats per state, not by a walk of every path from the root.
        entries = readdirSync(layout.states(), { withFileTypes: true }).sort((a, b) =>
            a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
        );
    } catch {
        // no states directory yet: nothing in it to check
    }
    const states = layout.statesDir;
    for (const entry of entries) {
        if (entry.isSymbolicLink()) {
            root.path([statesDirName, entry.name]); // refuses, naming the link
        }
        if (!entry.isDirectory()) {
            continue;
        }
        for (const inside of [".snapshots", "data.img"]) {
            // states/ and the entry are no links (checked above): only the last component is left.
            if (lstatOrNull(`${states}/${entry.name}/${inside}`)?.isSymbolicLink()) {
                root.path([statesDirName, entry.name, inside]); // refuses, naming the link
            }
        }
    }
    for (const slot of config.slots) {
        root.path([slot]);
    }
    for (const kind of ["in", "out", "moved", "replicas", "replicated", "locks"]) {
        root.path([fleetDirName, kind]);
    }
}

/**
 * The temporary files a killed run left beside the files vm-state replaces atomically: the
 * journal's (`.vm-state-journal.XXXXXX`, the journal itself is not one), `.tmp-*` in the root,
 * in the metrics directory and in the fleet's record directories. Under the lock, nothing else is writing them.
 */
function removeTemps(run: Run, layout: Layout): void {
    const found: string[] = [];
    for (const name of readdirSync(layout.rootDir).sort()) {
        if (journalTempPattern.test(name) || name.startsWith(tempPrefix)) {
            found.push(layout.rootEntry(name));
        }
    }
    const metrics = layout.metricsDir();
    if (lstatOrNull(metrics)?.isDirectory()) {
        found.push(
            ...readdirSync(metrics)
                .filter((n) => n.startsWith(tempPrefix))
                .sort()
                .map((n) => `${metrics}/${n}`),
        );
    }
    for (const path of found) {
        run.log(`removing ${path} left by an interrupted run`);
        rmSync(path, { force: true, recursive: true });
    }
    for (const path of new FleetRecords(layout).leftovers()) {
        run.log(`removed ${path} left by an interrupted run`);
    }
}

export interface ChangeOptions {
    /** Slots this command sets itself: recovery leaves their journaled links to it (recovery.ts). */
    readonly supersede?: readonly string[];
}

export async function openChange(run: Run, opts: ChangeOptions = {}): Promise<Change> {
    const config = loadConfig(run.env);
    const view = openView(run, config);
    run.operation = { layout: view.layout };
    const lock = await Lock.acquire(view.proc, run.env.lock, run.env.root, run.env.lockWait);
    run.atEnd(() => lock.release());
    checkLayout(view.layout, config);
    const states = `${view.layout.rootDir}/${statesDirName}`;
    if (lstatOrNull(states) === null) {
        try {
            mkdirSync(states);
        } catch (err) {
            throw fail(`cannot create ${states}: ${systemMessage(err)}`);
        }
    }
    removeTemps(run, view.layout);
    await view.driver.leftovers();
    await view.driver.prepare();
    const change: Change = { ...view, lock, journal: Journal.open(view.layout) };
    const { recover } = await import("./recovery");
    await recover(change, opts.supersede ?? []);
    return change;
}
