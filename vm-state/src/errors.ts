/**
 * vm-state's exit codes (docs/vm-state.md "Exit codes") and the one error type every module
 * throws: main prints its message as one `vm-state: ...` line and exits with its code.
 */
export const exitCodes = { ok: 0, error: 1, usage: 2, busy: 3, conflict: 4 } as const;
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

export class VmStateError extends Error {
    constructor(
        readonly code: number,
        message: string,
    ) {
        super(message);
        this.name = "VmStateError";
    }
}

/** A wrong command line: main adds the command's `Usage:` line and the pointer to `help`. */
export class UsageError extends VmStateError {
    constructor(message: string) {
        super(exitCodes.usage, message);
        this.name = "UsageError";
    }
}

/** A signal (INT, TERM, HUP) stopped the command: exit 128 + the signal's number, as a shell does. */
export class Interrupted extends VmStateError {
    constructor(
        readonly signal: string,
        code: number,
    ) {
        super(code, `interrupted by ${signal}`);
        this.name = "Interrupted";
    }
}

export const fail = (message: string): VmStateError => new VmStateError(exitCodes.error, message);
export const conflict = (message: string): VmStateError => new VmStateError(exitCodes.conflict, message);
export const usage = (message: string): VmStateError => new VmStateError(exitCodes.usage, message);
