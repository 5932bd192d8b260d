/**
 * PHASE 1 ONLY: the fleet commands (`fleet-pull`, `fleet-cancel`, `replicate`,
 * `replica-promote`, `fleet-serve`, `gc --fleet-moved`) are still run by the bash implementation,
 * `scripts/vm-state.d/vm-state.bash` beside this build's repository, with the same arguments, environment and
 * stdio, so the TypeScript entry point passes the whole bats contract (fleet.bats too) while the
 * fleet is ported. Both implementations share the on-disk layout, the lock and the journal.
 * Phase 2 replaces each entry of commands.ts that points here, then deletes this file.
 */
import { existsSync, realpathSync } from "fs";
import { dirname, resolve } from "path";
import { parseArgs } from "../args";
import { makeDirs, writeAtomic } from "../atomic";
import { Handler } from "../commands";
import { fail } from "../errors";
import { fleetDirName, Layout } from "../layout";
import { isName } from "../names";
import { Proc } from "../proc";
import { Root } from "../root";
import { Run } from "../run";
import { systemMessage } from "../text";

/**
 * The bash vm-state: VM_STATE_LEGACY (the NixOS package sets it), else
 * `scripts/vm-state.d/vm-state.bash` of the repository this build is in (vm-state/dist/vm-state.js),
 * else the one beside it (scripts/vm-state.js in the deploy bundle).
 */
export function legacyPath(vars: NodeJS.ProcessEnv): string {
    if (vars.VM_STATE_LEGACY) {
        return vars.VM_STATE_LEGACY;
    }
    const dir = dirname(realpathSync(process.argv[1] ?? __filename));
    const candidates = [resolve(dir, "../../scripts/vm-state.d/vm-state.bash"), resolve(dir, "vm-state.d/vm-state.bash")];
    return candidates.find((c) => existsSync(c)) ?? candidates[0];
}

/**
 * On the source, the time of the last replication of a state to a host that finished
 * (`.vm-state-fleet/replicated/<state>.<to>.json`, for `metrics`): the bash replicate does not
 * record it, so the bridge does.
 */
function recordReplication(run: Run, layout: Layout, argv: readonly string[]): void {
    let state: string | undefined;
    let to: string | undefined;
    try {
        const args = parseArgs({ flags: ["--json"], values: ["--to", "--keep-hourly", "--keep-daily", "--keep-weekly", "--keep-monthly"] }, argv);
        [state, to] = [args.positional[0], args.values.get("--to")];
    } catch {
        return;
    }
    if (state === undefined || to === undefined || !isName("state", state) || !isName("host", to)) {
        return;
    }
    try {
        const dir = layout.root.path([fleetDirName, "replicated"]);
        makeDirs(dir);
        writeAtomic(dir, layout.fleetRecord("replicated", `${state}.${to}.json`), `.tmp-${state}.${to}`, `${JSON.stringify({ at: Date.now() / 1000 })}\n`);
    } catch (err) {
        run.log(`warning: could not record the replication for vm-state metrics: ${systemMessage(err)}`);
    }
}

export async function runLegacy(run: Run, command: string, argv: readonly string[]): Promise<number> {
    const bash = legacyPath(run.childEnv);
    const layout = new Layout(new Root(run.env.root));
    run.operation = command === "fleet-serve" ? undefined : { layout };
    const r = await new Proc(run).exec(bash, [command, ...argv], { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
    if (r.code === 127 || r.code === 126) {
        throw fail(`cannot run the fleet's implementation ${bash}: ${r.stderr}`);
    }
    if (command === "replicate" && r.code === 0) {
        recordReplication(run, layout, argv);
    }
    return r.code;
}

export function legacyFleet(command: string): Handler {
    return (run, argv) => runLegacy(run, command, argv);
}
