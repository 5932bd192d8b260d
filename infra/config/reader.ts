/**
 * Strict readers for raw stack config values. Each reader takes the key path as `pulumi config
 * set --path` spells it (`slots.slot1.memMiB`) and records a message naming that path when the
 * value is wrong, so every error tells the user which key to fix and what would be valid. A
 * message quotes a bad value through `shown` (lib/redact.ts): capped, and never a value that looks
 * like a secret; every line is scrubbed once more on the way in (a map key can be one too, or
 * 4 KiB long).
 */
import { capWords, redactText, shown } from "../../lib/redact";

export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(problems.join("\n"));
        this.name = "ConfigError";
    }
}

export class Problems {
    private readonly list: string[] = [];

    add(path: string, message: string): void {
        this.addLine(`${path}: ${message}`);
    }

    /** A problem already phrased as "key: message". */
    addLine(line: string): void {
        this.list.push(capWords(redactText(line)));
    }

    get count(): number {
        return this.list.length;
    }

    throwIfAny(): void {
        if (this.list.length > 0) {
            throw new ConfigError(this.list);
        }
    }
}

export type RawObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is RawObject {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function join(path: string, key: string): string {
    return path === "" ? key : `${path}.${key}`;
}

/**
 * What every reader does: an absent value (undefined or null) is FALLBACK; a value ACCEPT turns
 * into a result (undefined: refused) is that result; anything else is a problem at PATH,
 * "must be WANTED, got <the value>", and FALLBACK.
 */
function readValue<T, F>(
    p: Problems,
    path: string,
    value: unknown,
    wanted: string,
    fallback: F,
    accept: (value: unknown) => T | undefined,
): T | F {
    if (value === undefined || value === null) {
        return fallback;
    }
    const result = accept(value);
    if (result === undefined) {
        p.add(path, `must be ${wanted}, got ${shown(value)}`);
        return fallback;
    }
    return result;
}

/** Reads an object (absent = empty) and reports every key that is not in `known`. */
export function readObject(p: Problems, path: string, value: unknown, known: readonly string[]): RawObject {
    const obj = readValue(p, path, value, "an object", {}, (v) => (isPlainObject(v) ? v : undefined));
    for (const key of Object.keys(obj)) {
        if (!known.includes(key)) {
            p.add(join(path, key), `unknown key; valid keys of ${path} are ${known.join(", ")}`);
        }
    }
    return obj;
}

/** Reads a map whose keys are names the caller validates (slots, states). */
export function readMap(p: Problems, path: string, value: unknown): Map<string, unknown> {
    return new Map(
        Object.entries(
            readValue(p, path, value, "a map of name to settings", {}, (v) => (isPlainObject(v) ? v : undefined)),
        ),
    );
}

/** Reads a non-empty string; absent is FALLBACK (undefined unless given). */
export function readString<F extends string | undefined = undefined>(
    p: Problems,
    obj: RawObject,
    path: string,
    key: string,
    fallback?: F,
): string | F {
    return readValue(p, join(path, key), obj[key], "a non-empty string", fallback as F, (v) =>
        typeof v === "string" && v !== "" ? v : undefined,
    );
}

export function readChoice<T extends string>(
    p: Problems,
    obj: RawObject,
    path: string,
    key: string,
    choices: readonly T[],
    fallback: T,
): T {
    return readValue(p, join(path, key), obj[key], `one of ${choices.map((c) => `"${c}"`).join(", ")}`, fallback, (v) =>
        choices.find((c) => c === v),
    );
}

export function readBool(p: Problems, obj: RawObject, path: string, key: string, fallback: boolean): boolean {
    return readValue(p, join(path, key), obj[key], "true or false", fallback, (v) =>
        v === true || v === "true" ? true : v === false || v === "false" ? false : undefined,
    );
}

/**
 * Reads an integer in [min, max]; absent is FALLBACK (undefined unless given). `pulumi config set
 * --path` may store numbers as strings, so a string of digits is accepted too.
 */
export function readInt<F extends number | undefined = undefined>(
    p: Problems,
    obj: RawObject,
    path: string,
    key: string,
    min: number,
    max: number,
    fallback?: F,
): number | F {
    return readValue(p, join(path, key), obj[key], `an integer from ${min} to ${max}`, fallback as F, (v) => {
        const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
        return typeof n === "number" && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
    });
}

export function readStringList(p: Problems, obj: RawObject, path: string, key: string): string[] {
    return readValue(p, join(path, key), obj[key], "a list of strings", [], (v) =>
        Array.isArray(v) && v.every((item) => typeof item === "string") ? (v as string[]) : undefined,
    );
}
