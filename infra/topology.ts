/**
 * The one function that turns slots into network identities. Everything per-slot, in the program
 * and in the files pushed to the host, comes from here: slot N owns 10.N.0.0/24, its gateway (the
 * host's bridge) is 10.N.0.1, the VM is 10.N.0.2.
 */
import { SlotNetwork } from "../lib/deploymentData";
import { SlotConfig } from "./config";

export interface SlotIdentity extends SlotConfig, SlotNetwork {}

export interface Topology {
    /** In index order. */
    readonly slots: readonly SlotIdentity[];
    /** The subnets the host advertises to the tailnet and Pulumi approves: one per slot, in slot order. */
    readonly routes: readonly string[];
}

const hex = (n: number): string => n.toString(16).padStart(2, "0");

/**
 * A locally administered, unicast MAC (first octet 0x02) that spells the VM's address 10.N.0.2,
 * so it is unique for every index 1..254 and readable in `ip neigh`.
 */
export function slotMac(index: number): string {
    return ["02", "00", hex(10), hex(index), "00", "02"].join(":");
}

export function slotIdentity(slot: SlotConfig): SlotIdentity {
    if (!Number.isInteger(slot.index) || slot.index < 1 || slot.index > 254) {
        throw new RangeError(`slot ${slot.name}: index must be from 1 to 254, got ${slot.index}`);
    }
    const net = `10.${slot.index}.0`;
    // Identity first, then the slot's own settings: the key order of infra.json's slot records.
    const { name, index, state, ...settings } = slot;
    return {
        name,
        index,
        state,
        subnet: `${net}.0/24`,
        prefixLength: 24,
        gateway: `${net}.1`,
        address: `${net}.2`,
        bridge: `br-${slot.name}`,
        tap: `vm-${slot.name}`,
        mac: slotMac(slot.index),
        ...settings,
    };
}

export function topology(slots: readonly SlotConfig[]): Topology {
    const identities = [...slots].sort((a, b) => a.index - b.index).map(slotIdentity);
    return { slots: identities, routes: identities.map((s) => s.subnet) };
}
