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

/** Reads an object (absent = empty) and reports every key that is not in `known`. */
export function readObject(p: Problems, path: string, value: unknown, known: readonly string[]): RawObject {
    if (value === undefined || value === null) {
        return {};
    }
    if (!isPlainObject(value)) {
        p.add(path, `must be an object, got ${shown(value)}`);
        return {};
    }
    for (const key of Object.keys(value)) {
        if (!known.includes(key)) {
            p.add(join(path, key), `unknown key; valid keys of ${path} are ${known.join(", ")}`);
        }
    }
    return value;
}

/** Reads a map whose keys are names the caller validates (slots, states). */
export function readMap(p: Problems, path: string, value: unknown): Map<string, unknown> {
    if (value === undefined || value === null) {
        return new Map();
    }
    if (!isPlainObject(value)) {
        p.add(path, `must be a map of name to settings, got ${shown(value)}`);
        return new Map();
    }
    return new Map(Object.entries(value));
}

export function readString(p: Problems, obj: RawObject, path: string, key: string): string | undefined;
export function readString(p: Problems, obj: RawObject, path: string, key: string, fallback: string): string;
export function readString(
    p: Problems,
    obj: RawObject,
    path: string,
    key: string,
    fallback?: string,
): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null) {
        return fallback;
    }
    if (typeof value !== "string" || value === "") {
        p.add(join(path, key), `must be a non-empty string, got ${shown(value)}`);
        return fallback;
    }
    return value;
}

export function readChoice<T extends string>(
    p: Problems,
    obj: RawObject,
    path: string,
    key: string,
    choices: readonly T[],
    fallback: T,
): T {
    const value = obj[key];
    if (value === undefined || value === null) {
        return fallback;
    }
    if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
        p.add(join(path, key), `must be one of ${choices.map((c) => `"${c}"`).join(", ")}, got ${shown(value)}`);
        return fallback;
    }
    return value as T;
}

export function readBool(p: Problems, obj: RawObject, path: string, key: string, fallback: boolean): boolean {
    const value = obj[key];
    if (value === undefined || value === null) {
        return fallback;
    }
    if (value === true || value === "true") {
        return true;
    }
    if (value === false || value === "false") {
        return false;
    }
    p.add(join(path, key), `must be true or false, got ${shown(value)}`);
    return fallback;
}

/**
 * Reads an integer in [min, max]. `pulumi config set --path` may store numbers as strings, so a
 * string of digits is accepted too.
 */
export function readInt(
    p: Problems,
    obj: RawObject,
    path: string,
    key: string,
    min: number,
    max: number,
): number | undefined;
export function readInt(
    p: Problems,
    obj: RawObject,
    path: string,
    key: string,
    min: number,
    max: number,
    fallback: number,
): number;
export function readInt(
    p: Problems,
    obj: RawObject,
    path: string,
    key: string,
    min: number,
    max: number,
    fallback?: number,
): number | undefined {
    const value = obj[key];
    if (value === undefined || value === null) {
        return fallback;
    }
    const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
        p.add(join(path, key), `must be an integer from ${min} to ${max}, got ${shown(value)}`);
        return fallback;
    }
    return n;
}

export function readStringList(p: Problems, obj: RawObject, path: string, key: string): string[] {
    const value = obj[key];
    if (value === undefined || value === null) {
        return [];
    }
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
        p.add(join(path, key), `must be a list of strings, got ${shown(value)}`);
        return [];
    }
    return value as string[];
}
