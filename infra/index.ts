/**
 * Program entry (Pulumi.yaml `main: infra/`). Config problems become a plain error that names the
 * keys, before any resource is declared.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./config";
import { defineInfrastructure } from "./program";
import { loadStackConfig } from "./stackConfig";

function load() {
    try {
        return loadStackConfig();
    } catch (err) {
        if (err instanceof ConfigError) {
            throw new pulumi.RunError(`Invalid stack config (${pulumi.getStack()}):\n${err.message}`);
        }
        throw err;
    }
}

const { outputs } = defineInfrastructure(load());

export const hostId = outputs.hostId;
export const publicIp = outputs.publicIp;
export const availabilityZone = outputs.availabilityZone;
export const stateVolumeId = outputs.stateVolumeId;
export const stateDevicePath = outputs.stateDevicePath;
export const sshCommand = outputs.sshCommand;
export const knownHostsLine = outputs.knownHostsLine;
export const bundleHash = outputs.bundleHash;
export const tailscaleDeviceId = outputs.tailscaleDeviceId;
export const slots = outputs.slots;
export const slotAssignments = outputs.slotAssignments;
/** A fleet only: each host's own outputs (its address, SSH command, state volume), by name. */
export const hosts = outputs.hosts;
