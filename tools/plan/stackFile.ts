/**
 * Reads a stack config file (Pulumi.<stack>.yaml format) into the flat key/value map Pulumi's
 * runtime holds. Encrypted (`secure:`) values are never decrypted: they become "[secret]" (a
 * whole key's: "[secret <digest of its ciphertext>]", so a new secret is a change) and their keys
 * are marked secret, so nothing secret can reach the plan's output. A value JSON cannot
 * hold (`.inf`, `.nan`) is a ConfigError naming its key.
 */
import { createHash } from "crypto";
import { readFileSync } from "fs";
import { parse } from "yaml";
import { ConfigError } from "../../infra/config";

export const secretPlaceholder = "[secret]";

export interface StackFile {
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
    /**
     * A digest of each key's ciphertexts (`secure:` values), so a review can say that a secret
     * changed without ever decrypting or printing it.
     */
    readonly secretDigests: Record<string, string>;
}

function isSecure(value: unknown): boolean {
    return (
        typeof value === "object" &&
        value !== null &&
        !Array.isArray(value) &&
        Object.keys(value).length === 1 &&
        "secure" in value
    );
}

/** Replaces nested `{ secure: ... }` leaves with the placeholder; reports whether any were found. */
function redact(value: unknown): [unknown, boolean] {
    if (isSecure(value)) {
        return [secretPlaceholder, true];
    }
    if (Array.isArray(value)) {
        const parts = value.map(redact);
        return [parts.map(([v]) => v), parts.some(([, s]) => s)];
    }
    if (typeof value === "object" && value !== null) {
        const entries = Object.entries(value).map(([k, v]) => [k, ...redact(v)] as const);
        return [Object.fromEntries(entries.map(([k, v]) => [k, v])), entries.some(([, , s]) => s)];
    }
    return [value, false];
}

export class StackFileError extends Error {}

/**
 * YAML's `.inf`, `-.inf` and `.nan` read as numbers that JSON cannot hold (they would reach the
 * program as null, and a key would silently take its default): one "key: message" line for each.
 */
function nonFiniteProblems(key: string, value: unknown): string[] {
    if (typeof value === "number" && !Number.isFinite(value)) {
        const yaml = Number.isNaN(value) ? ".nan" : value > 0 ? ".inf" : "-.inf";
        return [
            `${key}: is ${yaml}, which is not a number a config key can hold; write a whole number (or remove the key for its default)`,
        ];
    }
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => nonFiniteProblems(`${key}[${i}]`, v));
    }
    if (typeof value === "object" && value !== null) {
        return Object.entries(value).flatMap(([k, v]) => nonFiniteProblems(`${key}.${k}`, v));
    }
    return [];
}

export function readStackFile(path: string, project: string): StackFile {
    let doc: unknown;
    try {
        doc = parse(readFileSync(path, "utf8"));
    } catch (err) {
        throw new StackFileError(`cannot read stack config ${path}: ${(err as Error).message}`);
    }
    if (doc === null || doc === undefined) {
        return { config: {}, secretKeys: [], secretDigests: {} };
    }
    if (typeof doc !== "object" || Array.isArray(doc)) {
        throw new StackFileError(
            `${path}: must be a YAML mapping with a "config:" key (like Pulumi.dev.yaml), got ${Array.isArray(doc) ? "a list" : `a ${typeof doc}`}`,
        );
    }
    const raw = (doc as { config?: unknown }).config ?? {};
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw new StackFileError(`${path}: "config" must be a map of keys to values`);
    }
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const secretDigests: Record<string, string> = {};
    const problems = Object.entries(raw).flatMap(([key, value]) =>
        nonFiniteProblems(key.startsWith(`${project}:`) ? key.slice(project.length + 1) : key, value),
    );
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    for (const [key, value] of Object.entries(raw)) {
        const fullKey = key.includes(":") ? key : `${project}:${key}`;
        const [clean, secret] = redact(value);
        config[fullKey] = typeof clean === "string" ? clean : JSON.stringify(clean);
        if (secret) {
            secretKeys.push(fullKey);
            secretDigests[fullKey] = createHash("sha256").update(JSON.stringify(value)).digest("hex");
            // The program gets a stand-in per ciphertext: a new secret (a rotated key) changes the
            // inputs made from it, as the decrypted value does in `pulumi preview`.
            if (isSecure(value)) {
                config[fullKey] = `${secretPlaceholder.slice(0, -1)} ${secretDigests[fullKey].slice(0, 12)}]`;
            }
        }
    }
    return { config, secretKeys, secretDigests };
}
