/** `gc [--fleet-moved [STATE...]]`: destroys hidden data nothing depends on any more (zfs; also run after every delete). */
import { expectCount, parseArgs } from "../args";
import { openChange } from "../context";
import { UsageError } from "../errors";
import { checkName } from "../names";
import { Run } from "../run";

export async function gc(run: Run, argv: readonly string[]): Promise<number | void> {
    const args = parseArgs({ flags: ["--fleet-moved"] }, argv);
    for (const state of args.positional) {
        checkName("state", state, `${run.env.root}/states`);
    }
    if (args.positional.length > 0 && !args.flags.has("--fleet-moved")) {
        throw new UsageError("gc takes states only with --fleet-moved");
    }
    if (!args.flags.has("--fleet-moved")) {
        expectCount(args, 0);
    }
    const ch = await openChange(run);
    if (args.flags.has("--fleet-moved")) {
        const { gcMoved } = await import("../fleet/gcMoved");
        await gcMoved(ch, args.positional);
    }
    await ch.driver.gc();
}
