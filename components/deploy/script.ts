/**
 * Remote commands from shell files: the file's text with its arguments set first, so the host
 * runs exactly the script that shellcheck and the tests see, and TypeScript only computes the
 * arguments. (The provider runs a command string through the login shell; `set --` gives the
 * script its positional parameters.)
 */
import { readFileSync } from "fs";

/** Quotes a string for POSIX shells (bash, sh). */
export function shq(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `set -- ARGS` then the script's text. `file` is absolute. */
export function scriptCommand(file: string, args: readonly string[]): string {
    const text = readFileSync(file, "utf8");
    return `set -- ${args.map(shq).join(" ")}\n${text}`;
}
