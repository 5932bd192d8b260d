/**
 * Deleting needs `--yes`; without it vm-state asks for the name to be typed when stdin is a
 * terminal, and refuses (exit 2) when it is not, so a script never deletes by accident.
 */
import { readSync } from "fs";
import { isatty } from "tty";
import { usage } from "../errors";
import { Run } from "../run";

function readLine(): string {
    const bytes: number[] = [];
    const buf = Buffer.alloc(1);
    for (;;) {
        let n = 0;
        try {
            n = readSync(0, buf, 0, 1, null);
        } catch {
            // an unreadable stdin reads as its end
        }
        if (n === 0 || buf[0] === 0x0a) {
            return Buffer.from(bytes).toString("utf8");
        }
        bytes.push(buf[0]);
    }
}

export function confirmDelete(run: Run, yes: boolean, what: string): void {
    if (yes) {
        return;
    }
    if (!isatty(0)) {
        throw usage(`refusing to delete ${what} without --yes (stdin is not a terminal)`);
    }
    run.stderr(`Delete ${what}? Type its name to confirm: `);
    if (readLine() !== what) {
        throw usage("not confirmed; nothing deleted");
    }
}
