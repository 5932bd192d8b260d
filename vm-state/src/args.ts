/**
 * Command-line options: flags and options with a value, before or after the arguments
 * (`--size-gib 2`, `--size-gib=2`); `--` ends the options, `-` is an argument (stdin).
 */
import { UsageError } from "./errors";
import { shown } from "./text";

export interface ArgSpec {
    /** Flags without a value (`--json`, `-f`). */
    readonly flags?: readonly string[];
    /** Options that take a value (`--size-gib`, `-n`). */
    readonly values?: readonly string[];
}

export interface Args {
    readonly flags: ReadonlySet<string>;
    readonly values: ReadonlyMap<string, string>;
    readonly positional: readonly string[];
}

export function parseArgs(spec: ArgSpec, argv: readonly string[]): Args {
    const flags = new Set<string>();
    const values = new Map<string, string>();
    const positional: string[] = [];
    const isFlag = (a: string): boolean => (spec.flags ?? []).includes(a);
    const isValue = (a: string): boolean => (spec.values ?? []).includes(a);
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--") {
            positional.push(...argv.slice(i + 1));
            break;
        }
        if (arg === "-" || !arg.startsWith("-")) {
            positional.push(arg);
            continue;
        }
        const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
        if (eq > 0) {
            const name = arg.slice(0, eq);
            if (!isValue(name)) {
                throw new UsageError(`unknown option ${shown(name)}`);
            }
            const value = arg.slice(eq + 1);
            if (value === "") {
                throw new UsageError(`option ${name} needs a value`);
            }
            values.set(name, value);
        } else if (isFlag(arg)) {
            flags.add(arg);
        } else if (isValue(arg)) {
            if (i + 1 >= argv.length) {
                throw new UsageError(`option ${arg} needs a value`);
            }
            values.set(arg, argv[++i]);
        } else {
            throw new UsageError(`unknown option ${shown(arg)}`);
        }
    }
    return { flags, values, positional };
}

export function expectCount(args: Args, n: number): void {
    if (args.positional.length !== n) {
        throw new UsageError(`expected ${n} argument(s), got ${args.positional.length}`);
    }
}
