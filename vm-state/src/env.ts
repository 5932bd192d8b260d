/**
 * vm-state's environment (docs/vm-state.md "Environment"), read once into a typed object. A bad
 * value is a usage error naming the variable and what would be valid, before anything runs.
 */
import { UsageError } from "./errors";
import { shown } from "./text";

export interface Env {
    /** infra.json. */
    readonly config: string;
    /** Holds states/ and one directory per slot. */
    readonly root: string;
    /** `zfs`, `xfs` or `files` instead of infra.json's `.storage.backend`; undefined: infra.json's. */
    readonly backend?: string;
    readonly lock: string;
    /** Seconds to wait for the lock (0: not at all). */
    readonly lockWait: number;
    /** Seconds a started slot has to become active. */
    readonly startTimeout: number;
    readonly commands: {
        readonly systemctl: string;
        readonly zfs: string;
        readonly chRemote: string;
        readonly journalctl: string;
    };
    readonly noColor: boolean;
    /** Test hooks: stop at a named phase (docs/vm-state.md). */
    readonly testPhase?: { readonly name: string; readonly file?: string; readonly resume?: string };
}

export const envDefaults = {
    config: "/etc/microvm-infra/infra.json",
    root: "/var/lib/microvms",
    lockWait: 30,
    startTimeout: 60,
} as const;

/** The longest wait a variable accepts (a day): anything longer is a typo. */
const maxSeconds = 86400;

/** A whole number of seconds from `min`; `VM_STATE_LOCK_WAIT=0` does not wait, `VM_STATE_START_TIMEOUT=0` checks once. */
function seconds(vars: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
    const raw = vars[name];
    if (raw === undefined) {
        return fallback;
    }
    if (!/^(0|[1-9][0-9]{0,5})$/.test(raw) || Number(raw) < min || Number(raw) > maxSeconds) {
        throw new UsageError(
            `invalid ${name} ${shown(raw)}: use a whole number of seconds from ${min} to ${maxSeconds}`,
        );
    }
    return Number(raw);
}

function command(vars: NodeJS.ProcessEnv, name: string, fallback: string): string {
    const raw = vars[name];
    if (raw === undefined || raw === "") {
        return fallback;
    }
    if (/[\0\n]/.test(raw)) {
        throw new UsageError(`invalid ${name} ${shown(raw)}: a command name or path`);
    }
    return raw;
}

function path(vars: NodeJS.ProcessEnv, name: string, fallback: string): string {
    const raw = vars[name];
    if (raw === undefined || raw === "") {
        return fallback;
    }
    if (raw.includes("\0")) {
        throw new UsageError(`invalid ${name} ${shown(raw)}: a path`);
    }
    return raw;
}

export function readEnv(vars: NodeJS.ProcessEnv): Env {
    const root = path(vars, "VM_STATE_ROOT", envDefaults.root);
    const backend = vars.VM_STATE_BACKEND === "" ? undefined : vars.VM_STATE_BACKEND;
    const phase = vars.VM_STATE_TEST_PHASE;
    return {
        config: path(vars, "VM_STATE_CONFIG", envDefaults.config),
        root,
        backend,
        lock: path(vars, "VM_STATE_LOCK", `${root}/.vm-state.lock`),
        lockWait: seconds(vars, "VM_STATE_LOCK_WAIT", envDefaults.lockWait, 0),
        startTimeout: seconds(vars, "VM_STATE_START_TIMEOUT", envDefaults.startTimeout, 0),
        commands: {
            systemctl: command(vars, "VM_STATE_SYSTEMCTL", "systemctl"),
            zfs: command(vars, "VM_STATE_ZFS", "zfs"),
            chRemote: command(vars, "VM_STATE_CH_REMOTE", "ch-remote"),
            journalctl: command(vars, "VM_STATE_JOURNALCTL", "journalctl"),
        },
        noColor: vars.NO_COLOR !== undefined && vars.NO_COLOR !== "",
        testPhase: phase
            ? { name: phase, file: vars.VM_STATE_TEST_PHASE_FILE, resume: vars.VM_STATE_TEST_PHASE_RESUME }
            : undefined,
    };
}
