/** `slots`: the fixed network identities, each running one state. */
import { stateSizeGiB } from "../../lib/deploymentData";
import { maxNameLength, nameProblem } from "../../lib/names";
import { metalTypes, slotMemoryBudgetMiB } from "../instanceTypes";
import { Problems, readInt, readMap, readObject, readString } from "./reader";
import { checkHostPorts, parseWorkload, Workload } from "./workloads";
import { FleetHost, slotHost } from "./fleet";

/** A slot as configured: the topology's input. */
export interface SlotConfig extends Workload {
    readonly name: string;
    readonly index: number;
    /** The host it runs on (`hosts`), the only host by default. */
    readonly host: string;
    /** The state it runs: the slot's own name unless `state` says otherwise. */
    readonly state: string;
    readonly vcpu: number;
    readonly memMiB: number;
    readonly diskGiB: number;
}

export const slotDefaults = { vcpu: 1, memMiB: 1024, diskGiB: stateSizeGiB.default } as const;

const slotKeys = ["index", "host", "state", "vcpu", "memMiB", "diskGiB", "egress", "publish", "modules"];
const interfaceNote = (name: string) => `(so br-${name} and vm-${name} fit Linux's 15-character interface names)`;

function slotIndexFromName(name: string): number | undefined {
    const m = /^slot([1-9]\d*)$/.exec(name);
    return m ? Number(m[1]) : undefined;
}

function readIndex(p: Problems, o: Record<string, unknown>, path: string, name: string): number {
    const implied = slotIndexFromName(name);
    const explicit = readInt(p, o, path, "index", 1, 254);
    if (implied !== undefined && (implied < 1 || implied > 254)) {
        p.add(path, `a slot named slotN has index N, and N must be from 1 to 254; rename the slot`);
        return 0;
    }
    if (explicit !== undefined && implied !== undefined && explicit !== implied) {
        p.add(
            `${path}.index`,
            `${explicit} contradicts the name ${name}, whose index is ${implied}; remove index or rename the slot`,
        );
        return implied;
    }
    if (explicit === undefined && implied === undefined && o.index === undefined) {
        p.add(`${path}.index`, `is required: only slots named slotN (N from 1 to 254) get their index from the name`);
    }
    return explicit ?? implied ?? 0;
}

/** The slots, sorted by index. `nixosDir`: the flake, where declared guest modules must exist. */
export function parseSlots(p: Problems, raw: unknown, nixosDir: string, hosts: readonly FleetHost[]): SlotConfig[] {
    const slots: SlotConfig[] = [];
    for (const [name, value] of readMap(p, "slots", raw)) {
        const path = `slots.${name}`;
        const bad = nameProblem("slot", name);
        if (bad) {
            p.add(path, name.length > maxNameLength.slot ? `${bad} ${interfaceNote(name)}` : bad);
            continue;
        }
        const o = readObject(p, path, value, slotKeys);
        const index = readIndex(p, o, path, name);
        const state = readString(p, o, path, "state", name);
        const badState = state === name ? undefined : nameProblem("state", state);
        if (badState) {
            p.add(`${path}.state`, badState);
        }
        slots.push({
            name,
            index,
            host: slotHost(p, name, readString(p, o, path, "host"), hosts),
            state,
            vcpu: readInt(p, o, path, "vcpu", 1, 192, slotDefaults.vcpu),
            memMiB: readInt(p, o, path, "memMiB", 128, 1048576, slotDefaults.memMiB),
            diskGiB: readInt(p, o, path, "diskGiB", stateSizeGiB.min, stateSizeGiB.max, slotDefaults.diskGiB),
            ...parseWorkload(p, path, o, nixosDir),
        });
    }
    checkHostPorts(p, slots);
    const byIndex = new Map<number, string>();
    for (const slot of slots) {
        const other = byIndex.get(slot.index);
        if (slot.index !== 0 && other !== undefined) {
            p.add(
                `slots.${slot.name}.index`,
                `${slot.index} is already used by slot ${other}; every slot needs its own index from 1 to 254`,
            );
        }
        byIndex.set(slot.index, slot.name);
    }
    if (slots.length === 0 && p.count === 0) {
        p.add("slots", "at least one slot is required, for example slots.slot1: {}");
    }
    return slots.sort((a, b) => a.index - b.index);
}

/**
 * Whether each host's slots fit its memory (after its share, and `serviceMiB(host)`: what the
 * host's optional services, such as observability, are limited to) and vCPUs.
 */
export function checkCapacity(
    p: Problems,
    hosts: readonly FleetHost[],
    slots: readonly SlotConfig[],
    serviceMiB: (host: string) => number = () => 0,
): void {
    for (const host of hosts) {
        checkHostCapacity(
            p,
            host.instanceType,
            slots.filter((s) => s.host === host.name),
            hosts.length > 1 ? host.name : undefined,
            serviceMiB(host.name),
        );
    }
}

function checkHostCapacity(
    p: Problems,
    instanceType: string,
    slots: readonly SlotConfig[],
    hostName: string | undefined,
    serviceMiB: number,
): void {
    const type = metalTypes[instanceType];
    if (!type) {
        return;
    }
    const budget = slotMemoryBudgetMiB(type) - serviceMiB;
    const total = slots.reduce((sum, s) => sum + s.memMiB, 0);
    if (total > budget) {
        const fits = Object.entries(metalTypes)
            .filter(([, t]) => slotMemoryBudgetMiB(t) - serviceMiB >= total)
            .map(([n]) => n);
        const hint =
            fits.length > 0
                ? ` or choose a larger ${hostName ? `hosts.${hostName}.instanceType` : "host.instanceType"} (${fits.slice(0, 3).join(", ")})`
                : "";
        const services = serviceMiB > 0 ? ` and ${serviceMiB} MiB for observability (observability.enabled)` : "";
        p.add(
            hostName ? `hosts.${hostName}` : "slots",
            `the slots'${hostName ? ` (on ${hostName})` : ""} memory adds up to ${total} MiB, but ${instanceType} has ${type.memoryGiB} GiB and leaves ${budget} MiB for slots after the host's share${services}; lower slots.<name>.memMiB${hint}`,
        );
    }
    for (const slot of slots) {
        if (slot.vcpu > type.vcpu) {
            p.add(`slots.${slot.name}.vcpu`, `${slot.vcpu} is more than the ${type.vcpu} vCPUs of ${instanceType}`);
        }
    }
}
