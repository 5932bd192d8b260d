/**
 * `apply FILE|-`: make slots match `{"slots": {"slot1": "slot1", "slot3": "web"}}`. The map is
 * checked completely before anything changes; slots not in it are left alone; only the slots
 * whose state differs change (switch.ts). A slot that was set by hand since the last apply is
 * switched back, and apply says so.
 */
import { readFileSync, statSync } from "fs";
import { readApplied, writeApplied } from "../applied";
import { applyInputLimit, parseApplyInput, readLimited } from "../applyInput";
import { expectCount, parseArgs } from "../args";
import { openChange } from "../context";
import { usage, VmStateError } from "../errors";
import { checkName } from "../names";
import { Run } from "../run";
import { switchSlots } from "../switch";
import { shown, systemMessage } from "../text";

function readFile(file: string): Buffer {
    let isDir = false;
    try {
        isDir = statSync(file).isDirectory();
    } catch {
        // not there or unreadable: not a directory, the read below says which
    }
    if (isDir) {
        throw usage(`${shown(file)} is a directory; apply reads a JSON file or - for stdin`);
    }
    try {
        if (!statSync(file).isFile()) {
            throw new Error("not a file");
        }
        if (statSync(file).size > applyInputLimit) {
            throw usage(`apply input is larger than ${applyInputLimit} bytes`);
        }
        return readFileSync(file);
    } catch (err) {
        throw err instanceof VmStateError ? err : usage(`cannot read ${shown(file)}`);
    }
}

export async function apply(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({}, argv);
    expectCount(args, 1);
    const file = args.positional[0];
    const pairs = parseApplyInput(
        file === "-" ? await readLimited(process.stdin, run.signal, applyInputLimit) : readFile(file),
    );
    const statesDir = `${run.env.root}/states`;
    for (const [slot, state] of pairs) {
        checkName("slot", slot, statesDir);
        checkName("state", state, statesDir);
    }
    const ch = await openChange(run, { supersede: pairs.map(([slot]) => slot) });
    const before = readApplied(ch.layout);
    const want = new Map(pairs);
    await switchSlots(ch, pairs, {
        why: "apply",
        announce: (changed, current) => {
            for (const slot of changed) {
                const ran = current.get(slot);
                if (ran !== undefined && before[slot] === want.get(slot)) {
                    run.log(
                        `apply: ${slot} ran ${ran}, set by hand; the map says ${want.get(slot)}: switching it back`,
                    );
                }
            }
        },
    });
    try {
        writeApplied(ch.layout, { ...before, ...Object.fromEntries(pairs) });
    } catch (err) {
        run.log(`warning: could not record what apply set in ${ch.layout.rootDir}: ${systemMessage(err)}`);
    }
}
