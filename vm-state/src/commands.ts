/**
 * The command table: one entry per command, its usage line, whether it is a change (its last
 * run is recorded for `metrics`) and its handler, loaded only when that command runs (a read
 * does not load the storage backends' code, `help` loads nothing).
 */
import { Run } from "./run";

export type Handler = (run: Run, argv: readonly string[]) => Promise<number | void>;

export interface Command {
    readonly usage: string;
    readonly change: boolean;
    readonly load: () => Promise<Handler>;
}

export const commands: Readonly<Record<string, Command>> = {
    status: { usage: "status [--json]", change: false, load: async () => (await import("./commands/status")).status },
    list: { usage: "list [--json] [--all]", change: false, load: async () => (await import("./commands/list")).list },
    snapshots: {
        usage: "snapshots STATE [--json]",
        change: false,
        load: async () => (await import("./commands/snapshots")).snapshots,
    },
    logs: {
        usage: "logs SLOT [-f] [--lines N]",
        change: false,
        load: async () => (await import("./commands/logs")).logs,
    },
    metrics: {
        usage: "metrics [--output FILE]",
        change: false,
        load: async () => (await import("./commands/metrics")).metrics,
    },
    create: {
        usage: "create NAME [--size-gib N] [--if-missing]",
        change: true,
        load: async () => (await import("./commands/create")).create,
    },
    clone: {
        usage: "clone SRC DST [--independent] [--if-missing]",
        change: true,
        load: async () => (await import("./commands/clone")).clone,
    },
    restore: {
        usage: "restore STATE@SNAP DST [--independent] [--if-missing]",
        change: true,
        load: async () => (await import("./commands/restore")).restore,
    },
    snapshot: {
        usage: "snapshot STATE SNAP [--stop] [--if-missing] [--json]",
        change: true,
        load: async () => (await import("./commands/snapshot")).snapshot,
    },
    delete: {
        usage: "delete NAME --yes [--if-exists]",
        change: true,
        load: async () => (await import("./commands/delete")).deleteState,
    },
    "delete-snapshot": {
        usage: "delete-snapshot STATE@SNAP --yes [--if-exists]",
        change: true,
        load: async () => (await import("./commands/deleteSnapshot")).deleteSnapshot,
    },
    assign: { usage: "assign SLOT STATE", change: true, load: async () => (await import("./commands/assign")).assign },
    migrate: {
        usage: "migrate STATE SLOT",
        change: true,
        load: async () => (await import("./commands/assign")).migrate,
    },
    apply: { usage: "apply FILE|-", change: true, load: async () => (await import("./commands/apply")).apply },
    adopt: { usage: "adopt SLOT STATE", change: true, load: async () => (await import("./commands/adopt")).adopt },
    gc: { usage: "gc [--fleet-moved [STATE...]]", change: true, load: async () => (await import("./commands/gc")).gc },
    "fleet-pull": {
        usage: "fleet-pull STATE (--from HOST | --from-any) [--slot SLOT] [--json] | fleet-pull STATE --from HOST --abort",
        change: true,
        load: async () => (await import("./fleet/pull")).fleetPull,
    },
    "fleet-cancel": {
        usage: "fleet-cancel STATE",
        change: true,
        load: async () => (await import("./fleet/local")).fleetCancel,
    },
    replicate: {
        usage: "replicate STATE --to HOST [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--json]",
        change: true,
        load: async () => (await import("./fleet/replicate")).replicate,
    },
    "replica-promote": {
        usage: "replica-promote STATE [--as NAME]",
        change: true,
        load: async () => (await import("./fleet/local")).replicaPromote,
    },
    "fleet-serve": {
        usage: "fleet-serve",
        change: false,
        load: async () => (await import("./fleet/serve")).fleetServe,
    },
    "__check-name": {
        usage: "__check-name slot|state|snapshot NAME",
        change: false,
        load: async () => (await import("./commands/checkName")).checkNameCommand,
    },
};
