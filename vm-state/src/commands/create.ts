/** `create NAME [--size-gib N] [--if-missing]`: a new state, a sparse image formatted ext4 with the data label. */
import { stateSizeGiB } from "../../../lib/deploymentData";
import { expectCount, parseArgs } from "../args";
import { needNewState } from "../checks";
import { openChange } from "../context";
import { usage } from "../errors";
import { checkName } from "../names";
import { Run } from "../run";
import { shown } from "../text";

export function parseSize(raw: string | undefined): number {
    const size = raw ?? String(stateSizeGiB.default);
    if (!/^[1-9][0-9]{0,5}$/.test(size) || Number(size) < stateSizeGiB.min || Number(size) > stateSizeGiB.max) {
        throw usage(
            `invalid --size-gib ${shown(size)}: use a whole number of GiB from ${stateSizeGiB.min} to ${stateSizeGiB.max}`,
        );
    }
    return Number(size);
}

export async function create(run: Run, argv: readonly string[]): Promise<void> {
    const args = parseArgs({ flags: ["--if-missing"], values: ["--size-gib"] }, argv);
    expectCount(args, 1);
    const name = args.positional[0];
    checkName("state", name, `${run.env.root}/states`);
    const size = parseSize(args.values.get("--size-gib"));
    const ch = await openChange(run);
    if (!(await needNewState(ch, name, args.flags.has("--if-missing")))) {
        return;
    }
    await ch.driver.create(name, size);
    run.log(`created state ${name} (${size} GiB, label ${ch.config.dataLabel})`);
}
