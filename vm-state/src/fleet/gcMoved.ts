/**
 * `gc --fleet-moved [STATE...]`: destroys the copies this host kept of states it moved to another
 * host (`.vm-state-fleet/moved/<state>.json` names each as `hidden`). Under the lock of a change,
 * whose layout check refuses a linked `states/.moved` or record directory; a record is trusted
 * only to name one of the moved copies (`states/.moved/<state>.<time>`, zfs `<pool>/moved/...`),
 * never a path elsewhere.
 */
import { Change } from "../context";
import { conflict } from "../errors";
import { nowSeconds } from "../time";
import { shown } from "../text";

export async function gcMoved(ch: Change, only: readonly string[]): Promise<void> {
    for (const state of ch.records.list("moved")) {
        if (only.length > 0 && !only.includes(state)) {
            continue;
        }
        const record = ch.records.get("moved", state) ?? {};
        const hidden = record.hidden;
        if (hidden === undefined || hidden === null || hidden === "") {
            continue;
        }
        const name = typeof hidden === "string" ? ch.driver.movedCopy(hidden) : undefined;
        if (name === undefined) {
            throw conflict(
                `the record ${ch.layout.fleetRecord("moved", `${state}.json`)} names ${shown(String(hidden))}, not a copy vm-state hid after a move: ` +
                    "nothing was removed; remove that record if it is not vm-state's",
            );
        }
        await ch.driver.purgeMoved(name);
        ch.records.put("moved", state, { hidden: null, purged: nowSeconds() });
        ch.run.log(
            `gc: removed ${hidden}, the copy of ${state} kept after its move to ${typeof record.to === "string" ? record.to : "another host"}`,
        );
    }
}
