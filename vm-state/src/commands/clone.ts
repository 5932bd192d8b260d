/** `clone SRC DST [--independent] [--if-missing]`: DST becomes a copy of SRC. */
import { expectCount, parseArgs } from "../args";
import { needNewState, needState } from "../checks";
import { openChange } from "../context";
import { checkName } from "../names";
import { Run } from "../run";

export async function clone(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({ flags: ["--if-missing", "--independent"] }, argv);
    expectCount(args, 2);
    const [src, dst] = args.positional;
    checkName("state", src, `${run.env.root}/states`);
    checkName("state", dst, `${run.env.root}/states`);
    const ch = await openChange(run);
    if (!(await needNewState(ch, dst, args.flags.has("--if-missing")))) {
        return;
    }
    await needState(ch, src);
    const slot = ch.slots.slotOf(src);
    if (slot !== undefined && ch.driver.live !== "atomic" && (await ch.slots.isRunning(slot))) {
        run.log(`note: ${src} runs on ${slot}; the copy is crash-consistent at best (stop the slot for a clean one)`);
    }
    await ch.driver.clone(src, dst, args.flags.has("--independent"));
    run.log(`cloned ${src} to ${dst}`);
}
