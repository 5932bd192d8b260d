/**
 * The journal (docs/vm-state.md "Locking and crash safety"): what a change has stopped or paused
 * and which links it is making, written before anything is stopped, so that any later change
 * finishes what a killed one left:
 *
 *   .vm-state-journal.json   {"stopped": [SLOT...], "links": {SLOT: STATE}, "paused": [SLOT...]}
 *
 * The format is the one the bash vm-state wrote (jq -c, arrays sorted and unique), read unchanged.
 * It is only ever merged into, never replaced, and removed once empty. `.vm-state-apply.json`,
 * written before the journal was shared by every command, is read once into it (its `stopped`)
 * and removed: a one-way migration. Only used under the lock.
 */
import { readFileSync } from "fs";
import { removeDurably, writeAtomic } from "./atomic";
import { fail } from "./errors";
import { Layout } from "./layout";
import { lstatOrNull } from "./root";
import { systemMessage } from "./text";

export interface JournalData {
    readonly stopped: readonly string[];
    readonly links: Readonly<Record<string, string>>;
    readonly paused: readonly string[];
}

export const emptyJournal: JournalData = { stopped: [], links: {}, paused: [] };

const sortedUnion = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])].sort();
const without = (links: Readonly<Record<string, string>>, slots: readonly string[]): Record<string, string> =>
    Object.fromEntries(Object.entries(links).filter(([slot]) => !slots.includes(slot)));

/** Parses a journal's text; undefined when it is not one. */
export function parseJournal(text: string): JournalData | undefined {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch {
        return undefined;
    }
    if (doc === null) {
        return emptyJournal;
    }
    if (typeof doc !== "object" || Array.isArray(doc)) {
        return undefined;
    }
    const o = doc as Record<string, unknown>;
    const list = (v: unknown): string[] | undefined =>
        v === undefined || v === null
            ? []
            : Array.isArray(v) && v.every((x) => typeof x === "string")
              ? (v as string[])
              : undefined;
    const stopped = list(o.stopped);
    const paused = list(o.paused);
    const links = o.links === undefined || o.links === null ? {} : o.links;
    if (
        !stopped ||
        !paused ||
        typeof links !== "object" ||
        Array.isArray(links) ||
        !Object.values(links).every((v) => typeof v === "string")
    ) {
        return undefined;
    }
    return { stopped, links: links as Record<string, string>, paused };
}

export function isEmptyJournal(j: JournalData): boolean {
    return j.stopped.length === 0 && j.paused.length === 0 && Object.keys(j.links).length === 0;
}

/** The file's text: as `jq -c` wrote it, one line. */
export function renderJournal(j: JournalData): string {
    return `${JSON.stringify({ stopped: j.stopped, links: j.links, paused: j.paused })}\n`;
}

export class Journal {
    private constructor(
        private readonly layout: Layout,
        private current: JournalData,
    ) {}

    /** The journal as found (the legacy one merged in and removed). Under the lock. */
    static open(layout: Layout): Journal {
        const found = Journal.read(layout);
        const journal = new Journal(layout, found ?? emptyJournal);
        if (found !== undefined && isEmptyJournal(found)) {
            removeDurably(layout.rootDir, layout.journal()); // an empty one lists nothing to finish
        }
        const legacy = layout.legacyJournal();
        if (lstatOrNull(legacy) !== null) {
            let stopped: string[] = [];
            try {
                const doc = JSON.parse(readFileSync(legacy, "utf8")) as { stopped?: unknown };
                stopped = Array.isArray(doc.stopped)
                    ? doc.stopped.filter((s): s is string => typeof s === "string")
                    : [];
            } catch {
                // unreadable: nothing to start from it
            }
            journal.stop(stopped);
            removeDurably(layout.rootDir, legacy);
        }
        return journal;
    }

    /** The journal's content, or undefined when there is none (read-only commands only look). */
    static read(layout: Layout): JournalData | undefined {
        const path = layout.journal();
        if (lstatOrNull(path) === null) {
            return undefined;
        }
        let parsed: JournalData | undefined;
        try {
            parsed = parseJournal(readFileSync(path, "utf8"));
        } catch {
            parsed = undefined;
        }
        if (parsed === undefined) {
            throw fail(
                `cannot read the journal ${path}; fix or remove it (it lists slots an interrupted command stopped or paused)`,
            );
        }
        return parsed;
    }

    get data(): JournalData {
        return this.current;
    }

    /** The slots are stopped (to start again). */
    stop(slots: readonly string[]): void {
        this.commit({ ...this.current, stopped: sortedUnion(this.current.stopped, slots) });
    }
    /** The links being made. */
    link(links: Readonly<Record<string, string>>): void {
        this.commit({ ...this.current, links: { ...this.current.links, ...links } });
    }
    /** Both at once, one write: the slots stopped and relinked (a full disk cannot leave one without the other). */
    change(links: Readonly<Record<string, string>>): void {
        this.commit({
            ...this.current,
            stopped: sortedUnion(this.current.stopped, Object.keys(links)),
            links: { ...this.current.links, ...links },
        });
    }
    /** The VMs are paused (to resume). */
    pause(slots: readonly string[]): void {
        this.commit({ ...this.current, paused: sortedUnion(this.current.paused, slots) });
    }
    /** Started again: neither stopped nor linking any more. */
    started(slots: readonly string[]): void {
        this.commit({
            ...this.current,
            stopped: this.current.stopped.filter((s) => !slots.includes(s)),
            links: without(this.current.links, slots),
        });
    }
    /** The links will not be made (a rolled-back change). */
    unlink(slots: readonly string[]): void {
        this.commit({ ...this.current, links: without(this.current.links, slots) });
    }
    resumed(slots: readonly string[]): void {
        this.commit({ ...this.current, paused: this.current.paused.filter((s) => !slots.includes(s)) });
    }

    private commit(next: JournalData): void {
        if (renderJournal(next) === renderJournal(this.current)) {
            return;
        }
        const path = this.layout.journal();
        try {
            if (isEmptyJournal(next)) {
                removeDurably(this.layout.rootDir, path);
            } else {
                writeAtomic(this.layout.rootDir, path, ".vm-state-journal", renderJournal(next));
            }
        } catch (err) {
            throw fail(`cannot write the journal ${path}: ${systemMessage(err)}`);
        }
        this.current = next;
    }
}
