/**
 * What only a change can be refused for, so only `--against` sees it: the config alone cannot
 * tell a new state from one that already exists. A state created (new, or re-created because its
 * `from` changed) is cloned or restored on its own host by `vm-state clone/restore`, which finds
 * its source only there (components/deploy/remoteCommands.ts, createStateCommand); a placement
 * moves existing states, never a source for a new one (components/deploy/remote/place-state.sh).
 * So a new clone of a state on another host would fail on the host halfway through `pulumi up`.
 */
import { StateConfig } from "../../infra/config";
import { Plan } from "./run";

const originOf = (s: StateConfig): string =>
    s.from ? `${s.from.state}${s.from.snapshot ? `@${s.from.snapshot}` : ""}` : "";

/** One "key: message" line per state NEW creates from a source that lives on another host. */
export function crossHostCloneProblems(old: Plan, next: Plan): string[] {
    const before = new Map(old.config.states.map((s) => [s.name, s]));
    const hostOf = new Map(next.config.states.map((s) => [s.name, s.host]));
    return next.config.states.flatMap((s) => {
        const prev = before.get(s.name);
        const created = prev === undefined || originOf(prev) !== originOf(s);
        const sourceHost = s.from ? hostOf.get(s.from.state) : undefined;
        if (!created || !s.from || sourceHost === undefined || sourceHost === s.host) {
            return [];
        }
        const what =
            s.from.snapshot === undefined
                ? `a clone of ${s.from.state}`
                : `restored from ${s.from.state}@${s.from.snapshot}`;
        return [
            `states.${s.name}.from: ${s.name} would be created on host ${s.host} as ${what}, which lives on host ${sourceHost}: vm-state makes a copy on the host that holds the source. ` +
                `Create it on ${sourceHost} first (keep its slot there, or set states.${s.name}.host: ${sourceHost}), pulumi up, then move it to ${s.host} with a second edit`,
        ];
    });
}
