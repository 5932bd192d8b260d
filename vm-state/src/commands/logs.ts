/**
 * `logs SLOT [-f] [--lines N|all]`: the slot's journal, which holds its serial console too:
 * microvm.nix runs Cloud Hypervisor with `--serial tty --console null`
 * (lib/runners/cloud-hypervisor.nix), so the guest's console is the runner's stdout, which systemd
 * writes to the journal of microvm@<slot>.service.
 */
import { expectCount, parseArgs } from "../args";
import { openView } from "../context";
import { fail, UsageError } from "../errors";
import { checkName } from "../names";
import { which } from "../proc";
import { Run } from "../run";
import { unitOf } from "../slots";
import { shown } from "../text";

export async function logs(run: Run, argv: readonly string[]): Promise<number> {
    const args = parseArgs({ flags: ["-f", "--follow"], values: ["--lines", "-n"] }, argv);
    expectCount(args, 1);
    const slot = args.positional[0];
    const count = args.values.get("--lines") ?? args.values.get("-n") ?? "100";
    checkName("slot", slot, `${run.env.root}/states`);
    if (!/^(0|[1-9][0-9]{0,6}|all)$/.test(count)) {
        throw new UsageError(`invalid --lines ${shown(count)}: use a whole number of lines, or all`);
    }
    const view = openView(run);
    view.slots.need(slot);
    const journalctl = run.env.commands.journalctl;
    if (which(journalctl, run.childEnv.PATH ?? "") === undefined) {
        throw fail(`cannot run ${shown(journalctl)} (set VM_STATE_JOURNALCTL)`);
    }
    const jargs = ["--unit", unitOf(slot), "--no-pager", "--output", "short-iso"];
    if (count !== "all") {
        jargs.push("--lines", count);
    }
    if (args.flags.has("-f") || args.flags.has("--follow")) {
        jargs.push("--follow");
        if (count === "all") {
            jargs.push("--no-tail");
        }
    }
    // journalctl writes to the terminal itself (its own pager rules, its colours).
    return (await view.proc.exec(journalctl, jargs, { stdin: "inherit", stdout: "inherit", stderr: "inherit" })).code;
}
