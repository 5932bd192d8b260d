/** Plans one stack config file: the resources the program declares, its slot table and the files it pushes. */
import * as pulumi from "@pulumi/pulumi";
import { defineInfrastructure } from "../../infra/program";
import { loadStackConfig } from "../../infra/stackConfig";
import { topology } from "../../infra/topology";
import { PlannedResource, settle, startMockRuntime } from "./mockRuntime";
import { readStackFile } from "./stackFile";

export const project = "microvm-infra";

export interface TopologyRow {
    name: string; index: number; state: string; subnet: string; gateway: string; address: string;
    bridge: string; tap: string; mac: string; vcpu: number; memMiB: number; diskGiB: number;
}

export interface Plan {
    readonly stack: string;
    readonly configFile: string;
    readonly resources: PlannedResource[];
    readonly topology: { slots: TopologyRow[] };
    /** Files pushed to the host: relative path to content. */
    readonly files: Record<string, string>;
}

function value<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Throws ConfigError for an invalid config, StackFileError for an unreadable file. */
export async function planStack(configFile: string, stack: string): Promise<Plan> {
    const { config, secretKeys } = readStackFile(configFile, project);
    const recorder = await startMockRuntime(project, stack, config, secretKeys);
    const loaded = loadStackConfig();
    const { files } = defineInfrastructure(loaded);
    const pushed = await value(files);
    await settle();
    const slots = topology(loaded.cfg.slots).slots.map((s) => ({
        name: s.name, index: s.index, state: s.state, subnet: s.subnet, gateway: s.gateway, address: s.address,
        bridge: s.bridge, tap: s.tap, mac: s.mac, vcpu: s.vcpu, memMiB: s.memMiB, diskGiB: s.diskGiB,
    }));
    return { stack, configFile, resources: recorder.resources, topology: { slots }, files: pushed };
}
