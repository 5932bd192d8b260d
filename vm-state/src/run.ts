/**
 * One run of vm-state: its environment, its messages, what to undo if it fails, and how a signal
 * stops it. Passed to every module that needs them (no module-level state): the process makes one
 * in main and it lives as long as the command.
 */
import { writeFileSync, existsSync } from "fs";
import { Env } from "./env";
import type { Layout } from "./layout";
import { Interrupted, VmStateError, fail } from "./errors";
import { stdoutIsTerminal, writeFd } from "./stdio";

/** What runs if the command fails (a signal included), newest first; dismissed once no longer needed. */
export interface Undo {
    dismiss(): void;
}

interface UndoEntry {
    readonly action: () => Promise<void> | void;
    active: boolean;
}

export class Run {
    readonly startedAt = Date.now();
    private readonly controller = new AbortController();
    private interruption?: Interrupted;
    private readonly undos: UndoEntry[] = [];
    private readonly closers: (() => void)[] = [];
    private cleaningUp = false;
    /** Appended to a fatal message while the run finishes what an interrupted one left. */
    recoveryNote?: string;
    /** Set once a change has opened its root: main then records how the run ended, for `metrics`. */
    operation?: { readonly layout: Layout };

    constructor(
        readonly env: Env,
        private readonly write: (text: string) => void = (text) => writeFd(2, text),
        private readonly print: (text: string) => void = (text) => writeFd(1, text),
        /** Whether stdout is a terminal (colour, prompts). */
        readonly stdoutIsTTY: boolean = stdoutIsTerminal(),
        /** The environment the commands vm-state runs get (the one it was started with). */
        readonly childEnv: NodeJS.ProcessEnv = process.env,
    ) {}

    /** Output on stdout (JSON, tables). */
    out(text: string): void {
        this.print(text);
    }

    /** A `vm-state: ...` line on stderr. */
    log(message: string): void {
        this.write(`vm-state: ${message}\n`);
    }

    /** Raw text on stderr (usage lines, prompts). */
    stderr(text: string): void {
        this.write(text);
    }

    /** Aborted by a signal; undefined while failure actions run (they must be able to start slots again). */
    get signal(): AbortSignal | undefined {
        return this.cleaningUp ? undefined : this.controller.signal;
    }

    get interrupted(): Interrupted | undefined {
        return this.interruption;
    }

    /** Called by main's signal handlers: stops what runs (children are killed, waits end). */
    interrupt(signal: string, code: number): void {
        if (this.cleaningUp || this.interruption) {
            // A second signal while failing: give up at once, as a shell's trap would.
            process.exit(code);
        }
        this.interruption = new Interrupted(signal, code);
        this.controller.abort(this.interruption);
    }

    throwIfInterrupted(): void {
        if (this.interruption && !this.cleaningUp) {
            throw this.interruption;
        }
    }

    onFailure(action: () => Promise<void> | void): Undo {
        const entry: UndoEntry = { action, active: true };
        this.undos.push(entry);
        return {
            dismiss: () => {
                entry.active = false;
            },
        };
    }

    /** Runs the failure actions still registered, newest first; each one's own failure is logged, not fatal. */
    async fail(): Promise<void> {
        this.cleaningUp = true;
        for (const entry of [...this.undos].reverse()) {
            if (!entry.active) {
                continue;
            }
            entry.active = false;
            try {
                await entry.action();
            } catch (err) {
                this.log(err instanceof VmStateError ? err.message : `while undoing: ${String(err)}`);
            }
        }
    }

    /** Something to close when the run ends, whatever the outcome (the lock). */
    atEnd(close: () => void): void {
        this.closers.push(close);
    }

    /** Closes what `atEnd` registered, newest first (after the failure actions). */
    end(): void {
        for (const close of this.closers.splice(0).reverse()) {
            close();
        }
    }

    /** Waits, unless a signal stops the run first. */
    sleep(ms: number): Promise<void> {
        const signal = this.signal;
        return new Promise((resolve, reject) => {
            if (signal?.aborted) {
                reject(signal.reason);
                return;
            }
            const timer = setTimeout(() => {
                signal?.removeEventListener("abort", onAbort);
                resolve();
            }, ms);
            const onAbort = (): void => {
                clearTimeout(timer);
                reject(signal?.reason);
            };
            signal?.addEventListener("abort", onAbort, { once: true });
        });
    }

    /**
     * Test hook (docs/vm-state.md "Environment"): at the phase named by VM_STATE_TEST_PHASE, write
     * VM_STATE_TEST_PHASE_FILE and wait to be killed, or with VM_STATE_TEST_PHASE_RESUME until that
     * file exists.
     */
    async phase(name: string): Promise<void> {
        const hook = this.env.testPhase;
        if (hook === undefined || hook.name !== name) {
            return;
        }
        if (!hook.file) {
            throw fail("VM_STATE_TEST_PHASE needs VM_STATE_TEST_PHASE_FILE");
        }
        writeFileSync(hook.file, `${process.pid}\n`);
        for (;;) {
            if (hook.resume && existsSync(hook.resume)) {
                return;
            }
            await this.sleep(50);
        }
    }
}
