/** Slots as the stack config makes them when only a name and an index are given. */
import { SlotConfig } from "../../infra/config/slots";

/** Slot NAME at INDEX with the defaults written out (1 vCPU, 1024 MiB, 64 GiB), its own state, on host main. */
export const defaultSlot = (name: string, index: number): SlotConfig => ({
    name,
    index,
    state: name,
    vcpu: 1,
    memMiB: 1024,
    diskGiB: 64,
    publish: [],
    modules: [],
    host: "main",
});
