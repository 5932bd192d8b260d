/**
 * The CIDRs a user lists (`host.adminCidrs`, `slots.<name>.publish[i].sources`) in their one
 * spelling (lib/cidr.ts `canonicalCidr`), each network once: one network written twice, in another
 * case or another IPv6 form, would be two security group rules with one resource name (a duplicate
 * URN), or two names for one rule AWS refuses as a duplicate.
 */
import { canonicalCidr } from "../../lib/cidr";
import { shown } from "../../lib/redact";
import { HostConfig } from "./host";
import { Problems } from "./reader";
import { SlotConfig } from "./slots";

/** `cidrs` in their one spelling (a bad one unchanged: its own key reports it); a repeated network is a problem at `path[i]`. */
function canonicalList(p: Problems, path: string, cidrs: readonly string[]): string[] {
    const first = new Map<string, number>();
    return cidrs.map((cidr, i) => {
        const canonical = canonicalCidr(cidr);
        if (canonical === undefined) {
            return cidr;
        }
        const seen = first.get(canonical);
        if (seen !== undefined) {
            p.add(
                `${path}[${i}]`,
                `${shown(cidr)} is the network ${path}[${seen}] already lists (${canonical}); list each network once`,
            );
        } else {
            first.set(canonical, i);
        }
        return canonical;
    });
}

/** The host and the slots with every listed CIDR in its one spelling; repeated networks reported. */
export function normaliseCidrs(
    p: Problems,
    host: HostConfig,
    slots: readonly SlotConfig[],
): { host: HostConfig; slots: SlotConfig[] } {
    return {
        host: { ...host, adminCidrs: canonicalList(p, "host.adminCidrs", host.adminCidrs) },
        slots: slots.map((s) => ({
            ...s,
            publish: s.publish.map((e, i) =>
                e.sources === undefined
                    ? e
                    : { ...e, sources: canonicalList(p, `slots.${s.name}.publish[${i}].sources`, e.sources) },
            ),
        })),
    };
}
