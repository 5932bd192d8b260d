/**
 * Text that reaches the operator's terminal: names shown inside messages, and what other
 * programs print, cleaned of control characters and escape sequences first, so neither a name nor
 * a command's stderr can move the cursor, change colours or fake a `vm-state:` line.
 */

/** A name shown inside a message, quoted, with anything not printable ASCII as `?`. */
export function shown(value: string): string {
    return `'${value.replace(/[^\x20-\x7e]/g, "?")}'`;
}

// CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \), and any other two-byte escape.
const escapes = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?/g;

/** Another program's output made safe for a terminal: escape sequences removed, other controls as `?`. */
export function sanitise(text: string): string {
    return text
        .replace(escapes, "")
        .replace(/\r\n/g, "\n")
        .replace(/[^\n\t\x20-\x7e\u00a0-\uffff]|[\u202a-\u202e\u2066-\u2069]/g, "?");
}

/** The last non-empty line of a program's output, sanitised (e.g. "No space left on device"). */
export function lastLine(text: string): string {
    const lines = sanitise(text)
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");
    return lines.length > 0 ? lines[lines.length - 1] : "";
}

/** An error's message and code, whatever realm made it (instanceof Error fails across vm contexts). */
function errorParts(err: unknown): { message?: string; code?: string } {
    if (typeof err === "object" && err !== null) {
        const e = err as { message?: unknown; code?: unknown };
        return {
            message: typeof e.message === "string" ? e.message : undefined,
            code: typeof e.code === "string" ? e.code : undefined,
        };
    }
    return {};
}

/** What a failed system call says, as the C library's strerror does ("No space left on device"). */
export function systemMessage(err: unknown): string {
    const { message } = errorParts(err);
    if (message === undefined) {
        return String(err);
    }
    // Node's messages are "ENOSPC: no space left on device, open '/x'": keep the reason.
    const m = /^[A-Z0-9_]+: ([^,]+)(?:,|$)/.exec(message);
    const reason = m ? m[1] : message;
    return reason.charAt(0).toUpperCase() + reason.slice(1);
}

export function errnoCode(err: unknown): string | undefined {
    return errorParts(err).code;
}

/** Bytes for people: 1.5G, 20.1M, 512K, 12B (one decimal, rounded down, as the tables always showed). */
export function humanSize(bytes: number | null): string {
    if (bytes === null) {
        return "-";
    }
    const GiB = 1024 ** 3;
    const MiB = 1024 ** 2;
    if (bytes >= GiB) {
        return `${Math.floor((bytes * 10) / GiB) / 10}G`;
    }
    if (bytes >= MiB) {
        return `${Math.floor((bytes * 10) / MiB) / 10}M`;
    }
    if (bytes >= 1024) {
        return `${Math.floor(bytes / 1024)}K`;
    }
    return `${bytes}B`;
}
