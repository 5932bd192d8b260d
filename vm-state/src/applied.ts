/**
 * What the last `apply` set (`<root>/.vm-state-applied.json`, `{"slots": {SLOT: STATE}}`), so the
 * next apply can tell a slot changed by hand (`assign`, `migrate`) from a change of the map, and
 * say that it switches it back.
 */
import { readFileSync } from "fs";
import { writeAtomic } from "./atomic";
import { Layout } from "./layout";
import { lstatOrNull } from "./root";

export function readApplied(layout: Layout): Readonly<Record<string, string>> {
    const path = layout.applied();
    if (lstatOrNull(path)?.isFile() !== true) {
        return {};
    }
    try {
        const doc = JSON.parse(readFileSync(path, "utf8")) as { slots?: unknown };
        const slots = doc.slots;
        if (typeof slots === "object" && slots !== null && !Array.isArray(slots)) {
            return Object.fromEntries(
                Object.entries(slots).filter((e): e is [string, string] => typeof e[1] === "string"),
            );
        }
    } catch {
        // not one: as if none
    }
    return {};
}

export function writeApplied(layout: Layout, slots: Readonly<Record<string, string>>): void {
    writeAtomic(layout.rootDir, layout.applied(), ".tmp-applied", `${JSON.stringify({ slots })}\n`);
}
