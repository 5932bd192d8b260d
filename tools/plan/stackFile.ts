/**
 * Reads a stack config file (Pulumi.<stack>.yaml format) into the flat key/value map Pulumi's
 * runtime holds. Encrypted (`secure:`) values are never decrypted: they become "[secret]" and
 * their keys are marked secret, so nothing secret can reach the plan's output.
 */
import { createHash } from "crypto";
import { readFileSync } from "fs";
import { parse } from "yaml";

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
    return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value;
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
        throw new StackFileError(`${path}: must be a YAML mapping with a "config:" key (like Pulumi.dev.yaml), got ${Array.isArray(doc) ? "a list" : `a ${typeof doc}`}`);
    }
    const raw = (doc as { config?: unknown }).config ?? {};
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw new StackFileError(`${path}: "config" must be a map of keys to values`);
    }
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const secretDigests: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw)) {
        const fullKey = key.includes(":") ? key : `${project}:${key}`;
        const [clean, secret] = redact(value);
        config[fullKey] = typeof clean === "string" ? clean : JSON.stringify(clean);
        if (secret) {
            secretKeys.push(fullKey);
            secretDigests[fullKey] = createHash("sha256").update(JSON.stringify(value)).digest("hex");
        }
    }
    return { config, secretKeys, secretDigests };
}
