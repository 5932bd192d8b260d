/**
 * infra.json, the deployment data the program writes (lib/deploymentData.ts, docs/deployment-data.md),
 * read once: the fields vm-state uses, checked, with the program's defaults where a field is absent.
 * Every problem is an error (exit 1) naming the file and the key.
 */
import { readFileSync, statSync } from "fs";
import {
    DeploymentData,
    guestDataLabel,
    safetySnapshotDefaults,
    safetySnapshotLimits,
    StorageBackend,
    storageBackends,
} from "../../lib/deploymentData";
import { Env } from "./env";
import { fail } from "./errors";
import { isName } from "./names";
import { shown } from "./text";

export type { StorageBackend };

/** What vm-state takes from infra.json. */
export interface HostConfig {
    /** The file it was read from, for messages. */
    readonly path: string;
    readonly backend: StorageBackend;
    /** The zfs pool (`.storage.pool`); empty on files and xfs. */
    readonly pool: string;
    /** The ext4 label of a new state's filesystem (`.guest.dataLabel`). */
    readonly dataLabel: string;
    readonly safetySnapshots: DeploymentData["storage"]["safetySnapshots"];
    /** `.slots[].name`, in infra.json's order. */
    readonly slots: readonly string[];
    /** The whole document, for the parts other modules read and check themselves (`.fleet`). */
    readonly document: Readonly<Record<string, unknown>>;
}

/** The raw shape, keyed by the program's own types so a renamed field fails to compile here. */
type Raw = {
    readonly [K in keyof DeploymentData]?: unknown;
};
type RawStorage = { readonly [K in keyof DeploymentData["storage"]]?: unknown };
type RawGuest = { readonly [K in keyof DeploymentData["guest"]]?: unknown };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** jq's `tostring`, which the messages always used: strings as they are, anything else as JSON. */
const asText = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

function wholeNumber(
    path: string,
    key: string,
    value: unknown,
    limits: { readonly min: number; readonly max: number },
    fallback: number,
): number {
    if (value === undefined || value === null) {
        return fallback;
    }
    if (typeof value !== "number" || !Number.isInteger(value) || value < limits.min) {
        throw fail(
            `${path}: .storage.safetySnapshots.${key} must be a whole number from ${limits.min}, got ${shown(asText(value))}`,
        );
    }
    if (value > limits.max) {
        throw fail(
            `${path}: .storage.safetySnapshots.${key} must be at most ${limits.max}, got ${shown(asText(value))}`,
        );
    }
    return value;
}

export function loadConfig(env: Env): HostConfig {
    const path = env.config;
    let text: string;
    try {
        if (!statSync(path).isFile()) {
            throw new Error("not a file");
        }
        text = readFileSync(path, "utf8");
    } catch {
        throw fail(`cannot read deployment data ${path} (set VM_STATE_CONFIG)`);
    }
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch {
        doc = undefined;
    }
    const raw = doc as Raw;
    if (!isObject(doc) || raw.version !== 1 || !Array.isArray(raw.slots) || !raw.slots.every(isObject)) {
        throw fail(`${path} is not valid infra.json version 1`);
    }
    const storage: RawStorage = isObject(raw.storage) ? raw.storage : {};
    const guest: RawGuest = isObject(raw.guest) ? raw.guest : {};
    const safety: Record<string, unknown> = isObject(storage.safetySnapshots) ? storage.safetySnapshots : {};
    const safetySnapshots = {
        keep: wholeNumber(path, "keep", safety.keep, safetySnapshotLimits.keep, safetySnapshotDefaults.keep),
        maxAgeDays: wholeNumber(
            path,
            "maxAgeDays",
            safety.maxAgeDays,
            safetySnapshotLimits.maxAgeDays,
            safetySnapshotDefaults.maxAgeDays,
        ),
    };
    const slots = (raw.slots as readonly Record<string, unknown>[]).map((s) => asText(s.name ?? ""));
    for (const slot of slots) {
        if (!isName("slot", slot)) {
            throw fail(`${path}: invalid slot name ${shown(slot)}`);
        }
    }
    const backend = env.backend ?? (typeof storage.backend === "string" ? storage.backend : "");
    if (!(storageBackends as readonly string[]).includes(backend)) {
        throw fail(`unknown backend ${shown(backend)} (VM_STATE_BACKEND or .storage.backend): use zfs, xfs or files`);
    }
    const pool = typeof storage.pool === "string" ? storage.pool : "";
    if (backend === "zfs" && pool === "") {
        throw fail(`${path}: .storage.pool is empty but the backend is zfs`);
    }
    return {
        path,
        backend: backend as StorageBackend,
        pool,
        dataLabel: typeof guest.dataLabel === "string" && guest.dataLabel !== "" ? guest.dataLabel : guestDataLabel,
        safetySnapshots,
        slots,
        document: doc,
    };
}
