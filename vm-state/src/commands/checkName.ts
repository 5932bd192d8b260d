/** Hidden: `vm-state __check-name slot|host|state|snapshot NAME`: exit 0 if valid, else the usage error every command gives (tests/fixtures/names.json runs through it). */
import { UsageError } from "../errors";
import { checkName } from "../names";
import { Run } from "../run";
import { shown } from "../text";

export async function checkNameCommand(run: Run, argv: readonly string[]): Promise<void> {
    if (argv.length !== 2) {
        throw new UsageError("expected KIND NAME");
    }
    const [kind, name] = argv;
    if (kind !== "slot" && kind !== "host" && kind !== "state" && kind !== "snapshot") {
        throw new UsageError(`unknown kind ${shown(kind)}`);
    }
    checkName(kind, name, `${run.env.root}/states`);
}
