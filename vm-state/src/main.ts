/**
 * vm-state's entry point: owns the microVM states on the host and which slot runs which state
 * (docs/vm-state.md). One dispatch over the command table; every error ends as one `vm-state:`
 * line and its exit code, after the failure actions ran (a slot started again, a half-made copy
 * removed). INT, TERM and HUP stop the command the same way (exit 130, 143, 129).
 */
import { Command, commands } from "./commands";
import { envDefaults, readEnv } from "./env";
import { exitCodes, Interrupted, UsageError, VmStateError } from "./errors";
import { helpText } from "./help";
import { Run } from "./run";
import { stdoutIsTerminal, writeFd } from "./stdio";
import { shown, systemMessage } from "./text";

const signals = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/** Where a run reads its environment and writes its output: the process's, or a test's. */
export interface Io {
    readonly env: NodeJS.ProcessEnv;
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
    readonly stdoutIsTTY: boolean;
    /** Installs a signal handler (the process does; an in-process test does not). */
    readonly onSignal?: (signal: string, handler: () => void) => void;
}

/** The process's: its environment, descriptors 1 and 2 (stdio.ts), its signals. */
export function processIo(): Io {
    return {
        env: process.env,
        stdout: (text) => writeFd(1, text),
        stderr: (text) => writeFd(2, text),
        stdoutIsTTY: stdoutIsTerminal(),
        onSignal: (signal, handler) => process.on(signal, handler),
    };
}

function usageTail(run: Run, command: Command | undefined): void {
    if (command) {
        run.stderr(`Usage: vm-state ${command.usage}\n`);
    }
    run.stderr("Run 'vm-state help' for all commands.\n");
}

/** Prints ERR as vm-state's message; returns the exit code. */
function report(run: Run, err: unknown, command: Command | undefined, debug: boolean): number {
    if (err instanceof Interrupted) {
        return err.code;
    }
    if (err instanceof VmStateError) {
        run.log(err.message);
        if (err instanceof UsageError) {
            usageTail(run, command);
        } else if (run.recoveryNote) {
            run.log(run.recoveryNote);
        }
        return err.code;
    }
    run.log(`internal error: ${systemMessage(err)}`);
    if (debug && err instanceof Error) {
        run.stderr(`${err.stack}\n`);
    }
    return exitCodes.error;
}

export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
    const [name, ...rest] = argv;
    if (name === "help" || name === "-h" || name === "--help") {
        io.stdout(helpText(io.env.VM_STATE_LOCK || `${io.env.VM_STATE_ROOT || envDefaults.root}/.vm-state.lock`));
        return exitCodes.ok;
    }
    let run: Run;
    try {
        run = new Run(readEnv(io.env), io.stderr, io.stdout, io.stdoutIsTTY, io.env);
    } catch (err) {
        io.stderr(`vm-state: ${err instanceof Error ? err.message : String(err)}\n`);
        return err instanceof VmStateError ? err.code : exitCodes.error;
    }
    for (const [signal, code] of Object.entries(signals)) {
        io.onSignal?.(signal, () => run.interrupt(signal, code));
    }
    const command = name === undefined ? undefined : Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (command === undefined) {
        run.log(name === undefined ? "missing command" : `unknown command ${shown(name)}`);
        usageTail(run, undefined);
        return exitCodes.usage;
    }
    let code: number;
    try {
        const handler = await command.load();
        code = (await handler(run, rest)) ?? exitCodes.ok;
    } catch (err) {
        code = report(run, err, command, Boolean(io.env.VM_STATE_DEBUG));
        await run.fail();
    }
    if (command.change && run.operation !== undefined) {
        const { recordOperation } = await import("./metrics/operations");
        recordOperation(run, name!, code);
    }
    run.end();
    return code;
}

if (require.main === module) {
    // A reader that goes away (`vm-state list | head -1`) ends it quietly with 141 (stdio.ts).
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err: unknown) => {
            writeFd(2, `vm-state: internal error: ${systemMessage(err)}\n`);
            process.exit(exitCodes.error);
        },
    );
}
