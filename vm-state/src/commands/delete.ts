/** `delete NAME --yes [--if-exists]`: the state and its snapshots; refused while a slot uses it. */
import { expectCount, parseArgs } from "../args";
import { openChange } from "../context";
import { conflict } from "../errors";
import { checkName } from "../names";
import { Run } from "../run";
import { shown } from "../text";
import { confirmDelete } from "./confirm";

export async function deleteState(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({ flags: ["--yes", "--if-exists"] }, argv);
    expectCount(args, 1);
    const name = args.positional[0];
    checkName("state", name, `${run.env.root}/states`);
    const ch = await openChange(run);
    if (!(await ch.driver.exists(name))) {
        if (args.flags.has("--if-exists")) {
            run.log(`state ${name} does not exist; nothing to do`);
            return;
        }
        throw conflict(`unknown state ${shown(name)} (see: vm-state list)`);
    }
    ch.records.needNotLeaving(name);
    const slot = ch.slots.slotOf(name);
    if (slot !== undefined) {
        throw conflict(`state ${shown(name)} is attached to slot ${slot}; assign another state to ${slot} first`);
    }
    confirmDelete(run, args.flags.has("--yes"), name);
    const count = (await ch.driver.snapshots(name)).length;
    await ch.driver.delete(name);
    run.log(`deleted state ${name} and its ${count} snapshot(s)`);
    await ch.driver.gc();
}
