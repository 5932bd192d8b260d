/**
 * `replicate STATE --to HOST [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--json]`,
 * on the source: a warm copy of STATE on HOST, kept hidden there (never a state until
 * `replica-promote`), pruned there by the one retention rule (keep counts from the options, else
 * from `.fleet.replicas`, else the newest only). A frozen copy is made here (files/xfs: a copy in
 * `states/.fleet-out/<state>` with the VM paused; zfs: a snapshot `_replica-<to>-<time>`) and
 * sent; the files copy goes afterwards whether the replication finished or failed.
 */
import { parseArgs } from "../args";
import { loadConfig } from "../config";
import { openChange, openView } from "../context";
import { conflict, fail, UsageError } from "../errors";
import { checkName } from "../names";
import { Run } from "../run";
import { openFleetStorage } from "../storage/fleet";
import { humanSize, shown } from "../text";
import { nowSeconds, utcStamp } from "../time";
import { whilePaused } from "../commands/snapshot";
import { backendFamily, recordRun, configuredKeep, maxKeep, readFleet } from "./config";
import { fleetLock } from "./locks";
import { rsyncCopy } from "./rsync";
import { Transport, streamTo } from "./transport";

const kinds = ["hourly", "daily", "weekly", "monthly"] as const;
const text = (v: unknown): string => (typeof v === "string" ? v : "");

export async function replicate(run: Run, argv: readonly string[]): Promise<void> {
    recordRun(run);
    const args = parseArgs({ flags: ["--json"], values: ["--to", ...kinds.map((k) => `--keep-${k}`)] }, argv);
    if (args.positional.length !== 1) {
        throw new UsageError(`expected 1 argument(s), got ${args.positional.length}`);
    }
    const statesDir = `${run.env.root}/states`;
    const state = args.positional[0];
    checkName("state", state, statesDir);
    const to = args.values.get("--to");
    if (to === undefined) {
        throw new UsageError("replicate needs --to HOST (the host that keeps the replica)");
    }
    checkName("host", to, statesDir);
    const given: Record<string, number> = {};
    for (const kind of kinds) {
        const n = args.values.get(`--keep-${kind}`);
        if (n === undefined) {
            continue;
        }
        if (!/^(0|[1-9][0-9]{0,4})$/.test(n) || Number(n) > maxKeep) {
            throw new UsageError(`invalid --keep-${kind} ${shown(n)}: use a whole number`);
        }
        given[kind] = Number(n);
    }
    const config = loadConfig(run.env);
    const fleet = readFleet(config, run.env.backend);
    const self = fleet.self.name;
    const view = openView(run, config);
    const transport = new Transport(run, fleet);
    const peer = transport.host(to);
    if (to === self) {
        throw new UsageError(`${to} is this host`);
    }
    if (backendFamily(peer.backend) !== backendFamily(config.backend)) {
        throw conflict(
            `${to} uses the ${peer.backend} backend and ${self} ${config.backend}: states move between zfs hosts, or between files and xfs hosts`,
        );
    }
    const keep: Record<string, number> =
        Object.keys(given).length > 0 ? given : { ...(configuredKeep(fleet, state, to) ?? {}) };
    await fleetLock(run, view.proc, view.layout, "replicate", state, `a replication of state ${state}`, true);
    const storage = await openFleetStorage(view, view.driver);
    {
        const ch = await openChange(run);
        if (!(await ch.driver.exists(state))) {
            throw conflict(`unknown state ${shown(state)} (see: vm-state list)`);
        }
        ch.lock.release();
    }
    const started = Date.now();
    let status = await transport.callJson(to, `status ${state}`);
    let replica = (status.replica ?? null) as Record<string, unknown> | null;
    const holder = text(replica?.from);
    if (holder !== "" && holder !== self) {
        throw conflict(`${to} holds a replica of ${state} from ${holder}, not from ${self}`);
    }
    const token = text(replica?.resumeToken);
    if (token !== "") {
        run.log(`resuming the interrupted replication of ${state} to ${to}`);
        await streamTo(
            transport,
            run,
            to,
            `receive-replica ${state} ${self} resume`,
            "replicating",
            await storage.resumeSender(state, token, `_replica-${to}-`),
        );
        status = await transport.callJson(to, `status ${state}`);
        replica = (status.replica ?? null) as Record<string, unknown> | null;
    }
    const base = text(replica?.latest);
    if (base !== "" && !(await storage.replHasBase(state, base, text(replica?.latestGuid)))) {
        throw conflict(
            `${to}'s replica of ${state} ends at ${base}, which ${self} no longer has: no common snapshot for an incremental send; remove the replica on ${to} (zfs destroy -r <pool>/replicas/${state} there) to start it again`,
        );
    }
    const taken = new Set(Array.isArray(replica?.snapshots) ? (replica.snapshots as unknown[]).map(text) : []);
    const stamp = `_replica-${to}-${utcStamp(new Date(), "-")}`;
    let snap = stamp;
    for (let n = 2; taken.has(snap) || (await storage.replExists(state, snap)); n++) {
        snap = `${stamp}-${n}`;
    }
    const ch = await openChange(run);
    if (!(await ch.driver.exists(state))) {
        throw conflict(`unknown state ${shown(state)} (see: vm-state list)`);
    }
    const undo = run.onFailure(() => storage.replDone(state, "", to));
    const slot = ch.slots.slotOf(state);
    await storage.replMark(state, snap, async (action) => {
        if (ch.driver.live === "pause" && slot !== undefined && (await ch.slots.isRunning(slot))) {
            await whilePaused(ch, slot, action);
        } else {
            await action();
        }
    });
    ch.lock.release();
    run.log(`replicating ${state} to ${to} as ${snap}${base !== "" ? ` (incremental from ${base})` : ""}`);
    const sender = storage.replSender(state, snap, base);
    let bytes: number;
    if ("rsync" in sender) {
        // The target makes the copy's temporary directory (seeded with its newest copy), rsync
        // writes into it, and the target keeps it once it is a regular file.
        const request = `receive-replica ${state} ${self} ${snap}`;
        const ready = await transport.callJson(to, request);
        if (ready.transfer !== "rsync" || ready.path !== sender.remote) {
            throw fail(
                `${to} answered ${shown(request)} with something other than the rsync transfer of ${sender.remote} (is the same vm-state installed there?)`,
            );
        }
        bytes = await rsyncCopy(transport, run, to, sender, "to", "replicating");
        await transport.callJson(to, `keep-replica ${state} ${self} ${snap}`);
    } else {
        bytes = await streamTo(transport, run, to, `receive-replica ${state} ${self} ${snap}`, "replicating", sender);
    }
    const done = await openChange(run);
    await storage.replDone(state, snap, to);
    undo.dismiss();
    done.records.put("replicated", state, { at: nowSeconds() }, `${state}.${to}.json`);
    done.lock.release();
    const counts = Object.entries(keep).map(([k, n]) => `${k}=${n}`);
    const pruned = await transport.callJson(to, ["prune-replica", state, self, ...counts].join(" "));
    const kept = Array.isArray(pruned.kept) ? (pruned.kept as unknown[]).map(text) : [];
    const result = {
        state,
        to,
        snapshot: snap,
        incrementalFrom: base === "" ? null : base,
        bytes,
        ms: Date.now() - started,
        keep,
        kept,
        pruned: Array.isArray(pruned.pruned) ? (pruned.pruned as unknown[]).map(text) : [],
    };
    run.log(
        `replicated ${state} to ${to}: ${snap}, ${humanSize(bytes)} sent${base !== "" ? " (incremental)" : " (full)"} in ${result.ms / 1000} s; ` +
            `${to} keeps ${kept.filter((k) => k.startsWith("_replica-")).length} replica snapshot(s)`,
    );
    if (args.flags.has("--json")) {
        run.out(`${JSON.stringify(result)}\n`);
    }
}
