/** Checks the commands share, each failing with the documented exit code before anything changes. */
import { makeDirs } from "./atomic";
import { accessSync, constants, readdirSync } from "fs";
import { Change, View } from "./context";
import { conflict, fail } from "./errors";
import { checkName } from "./names";
import { lstatOrNull } from "./root";
import { shown, systemMessage } from "./text";

/** A state that exists (exit 4 otherwise). */
export async function needState(view: Pick<View, "driver" | "layout">, state: string): Promise<void> {
    checkName("state", state, view.layout.statesDir);
    if (!(await view.driver.exists(state))) {
        throw conflict(`unknown state ${shown(state)} (see: vm-state list)`);
    }
}

/**
 * A name a new state may take: no state, none arriving by a fleet move, and nothing else in the
 * way of its directory (an empty directory is fine). False when it exists and `ifMissing` allows that.
 */
export async function needNewState(ch: Change, name: string, ifMissing: boolean, placing?: string): Promise<boolean> {
    if (await ch.driver.exists(name)) {
        if (ifMissing) {
            ch.run.log(`state ${name} exists; nothing to do`);
            return false;
        }
        throw conflict(`state ${shown(name)} already exists`);
    }
    ch.records.needNotArriving(name, placing);
    const dir = `${ch.layout.statesDir}/${name}`;
    const stat = lstatOrNull(dir);
    if (stat === null) {
        return true;
    }
    if (!stat.isDirectory()) {
        throw conflict(`${dir} exists and is not a state; move it away first`);
    }
    const content = readdirSync(ch.layout.statesEntry(name));
    if (content.length > 0) {
        const sorted = [
            ...content.filter((c) => !c.startsWith(".")).sort(),
            ...content.filter((c) => c.startsWith(".")).sort(),
        ];
        throw conflict(
            `${dir} exists but is not a state (no data.img; it holds ${sorted.join(" ")}); move it away first, e.g. mv ${dir} ${ch.layout.rootDir}/${name}.orphan`,
        );
    }
    return true;
}

/** Refuses, before anything stops, a slot whose disk vm-state must not replace. */
export function checkSlotDisk(view: Pick<View, "slots" | "layout">, slot: string): void {
    const link = view.layout.slotLink(slot); // the slot's directory as a link is refused here (exit 4)
    switch (view.slots.diskKind(slot)) {
        case "none":
        case "link":
            return;
        case "directory":
            throw conflict(`${link} is a directory, not a link to a state; move it away first (nothing was stopped)`);
        default:
            throw conflict(
                `${link} is a disk image of its own, not a link to a state; vm-state never replaces it: turn it into a state with 'vm-state adopt ${slot} NAME', or move it away (nothing was stopped)`,
            );
    }
}

/**
 * The slot's directory exists and takes a new link: checked before anything stops, with no space
 * used (so a full disk still reports the journal's or the copy's failure), so a read-only or
 * immutable directory refuses the change while the slot still runs.
 */
export function checkLinkable(view: Pick<View, "layout">, slot: string): void {
    const dir = view.layout.slotDir(slot);
    try {
        makeDirs(dir);
    } catch (err) {
        throw fail(`creating ${dir} failed: ${systemMessage(err)} (nothing was stopped)`);
    }
    try {
        accessSync(dir, constants.W_OK);
    } catch (err) {
        throw fail(`cannot link ${slot}: ${dir} is not writable: ${systemMessage(err)} (nothing was stopped)`);
    }
}
