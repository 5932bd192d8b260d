/**
 * The whole stack, wired from the validated config. Reading top to bottom follows what `pulumi up`
 * does: AWS (network, role, host, state volume), then over SSH (the NixOS deployment, the states,
 * the slot assignments), then Tailscale (route approval).
 */
import * as pulumi from "@pulumi/pulumi";
import { hostAvailabilityZone } from "../components/aws/availabilityZone";
import { Host } from "../components/aws/host";
import { HostRole } from "../components/aws/hostRole";
import { Network } from "../components/aws/network";
import { StateVolume } from "../components/aws/stateVolume";
import { hostConnection } from "../components/deploy/connection";
import { Deployment } from "../components/deploy/deployment";
import { HostReachable } from "../components/deploy/reachable";
import { SlotAssignments } from "../components/state/slotAssignments";
import { StateOrigin, VmState } from "../components/state/vmState";
import { HostAuthKey } from "../components/tailscale/authKey";
import { TailnetPolicy } from "../components/tailscale/policy";
import { SubnetRouter } from "../components/tailscale/subnetRouter";
import { renderDeploymentData, tailscaleAuthKeyFile } from "../lib/deploymentData";
import { StateConfig, usesStateVolume } from "./config";
import { deploymentData, hostIdFor } from "./deploymentData";
import { LoadedConfig } from "./stackConfig";
import { topology } from "./topology";

/** How a configured state comes to exist on the host. */
export function stateOrigin(state: StateConfig): StateOrigin {
    if (!state.from) {
        return { kind: "empty", sizeGiB: state.diskGiB };
    }
    return state.from.snapshot === undefined
        ? { kind: "clone", source: state.from.state }
        : { kind: "restore", source: state.from.state, snapshot: state.from.snapshot };
}

export function defineInfrastructure(loaded: LoadedConfig) {
    const { cfg } = loaded;
    const topo = topology(cfg.slots);
    const name = "microvm";
    const tags = { Project: pulumi.getProject(), Stack: pulumi.getStack(), ManagedBy: "pulumi" };

    // --- AWS ---
    const availabilityZone = hostAvailabilityZone(cfg.host.instanceType, cfg.host.availabilityZone);
    const published = topo.slots.flatMap((s) => s.publish.flatMap((p) => (p.to === "internet" ? [{ slot: s.name, hostPort: p.hostPort!, sources: p.sources! }] : [])));
    const network = new Network(name, { ...cfg.network, availabilityZone, adminCidrs: cfg.host.adminCidrs, tailscale: cfg.tailscale.enabled, published, tags });
    const role = new HostRole(name, { tags });
    const host = new Host(name, {
        instanceType: cfg.host.instanceType,
        ami: cfg.host.ami,
        rootVolumeGiB: cfg.host.rootVolumeGiB,
        firstBootKey: cfg.host.sshPublicKeys[0],
        subnetId: network.subnetId,
        securityGroupIds: [network.securityGroupId],
        instanceProfileName: role.instanceProfileName,
        availabilityZone,
        tags,
    });
    const volume = usesStateVolume(cfg.storage.backend)
        ? new StateVolume(name, {
            availabilityZone: host.availabilityZone,
            sizeGiB: cfg.storage.volumeGiB,
            volumeType: cfg.storage.volumeType,
            iops: cfg.storage.iops,
            throughputMiBps: cfg.storage.throughputMiBps,
            instanceId: host.instanceId,
            tags,
        })
        : undefined;

    // --- Over SSH: the NixOS deployment, states, slot assignments ---
    // The policy (optional) must own the tags before a key with those tags can be created.
    const policySlots = topo.slots.map((s) => ({ name: s.name, subnet: s.subnet, tailnetPorts: s.publish.filter((p) => p.to === "tailnet").map((p) => p.port) }));
    const policy = cfg.tailscale.enabled && cfg.tailscale.managePolicy ? new TailnetPolicy(name, { tags: cfg.tailscale.tags, slots: policySlots }) : undefined;
    const authKey = cfg.tailscale.enabled
        ? new HostAuthKey(name, { tags: cfg.tailscale.tags, machineId: host.instanceId }, { dependsOn: policy ? [policy] : [] })
        : undefined;
    const address = cfg.host.connectVia === "tailscale" ? cfg.tailscale.hostname : host.publicIp;
    const connection = hostConnection({ address, hostPublicKey: host.hostPublicKey, privateKey: loaded.sshPrivateKey });
    // Every remote command waits for this (through the deployment): a new host's boot, the right host key, a key it accepts.
    const reachable = new HostReachable(name, { address, hostPublicKey: host.hostPublicKey, privateKey: loaded.sshPrivateKey, triggers: [host.instanceId] });
    const hostId = hostIdFor(pulumi.getProject(), pulumi.getStack());
    const infraJson = pulumi.output(volume?.devicePath).apply((device) => renderDeploymentData(deploymentData(cfg, topo, hostId, device)));
    const deployment = new Deployment(name, {
        connection,
        infraJson,
        secretFiles: authKey ? { [tailscaleAuthKeyFile]: authKey.key } : {},
        slotNames: topo.slots.map((s) => s.name),
        hostTriggers: [host.instanceId],
        tailscale: cfg.tailscale.enabled,
        deletedWith: host,
    }, { dependsOn: [reachable, ...(volume ? [volume] : [])] });

    const states = new Map<string, VmState>();
    for (const state of cfg.states) {
        const source = state.from ? states.get(state.from.state) : undefined;
        states.set(state.name, new VmState(state.name, {
            connection,
            state: state.name,
            origin: stateOrigin(state),
            snapshots: state.snapshots,
            onRemove: state.onRemove,
            hostId: host.instanceId,
            deletedWith: host,
        }, { dependsOn: [deployment, ...(source ? [source] : [])] }));
    }
    const assignments = new SlotAssignments(name, {
        connection,
        assignments: Object.fromEntries(topo.slots.map((s) => [s.name, s.state])),
        addresses: Object.fromEntries(topo.slots.map((s) => [s.name, s.address])),
        hostTriggers: [host.instanceId],
        deletedWith: host,
    }, { dependsOn: [deployment, ...topo.slots.map((s) => states.get(s.state)!)] });

    // --- Tailscale ---
    const router = cfg.tailscale.enabled
        ? new SubnetRouter(name, {
            connection, hostname: cfg.tailscale.hostname, routes: topo.routes, tags: cfg.tailscale.tags, hostTriggers: [host.instanceId],
            deletedWith: host,
        }, { dependsOn: [deployment, ...(policy ? [policy] : [])] })
        : undefined;

    const outputs = {
        hostId: host.instanceId,
        publicIp: host.publicIp,
        availabilityZone: host.availabilityZone,
        stateVolumeId: volume?.volumeId,
        stateDevicePath: volume?.devicePath,
        // Pins the host key Pulumi generated instead of trusting on first use (OpenSSH 8.5+).
        sshCommand: pulumi.interpolate`ssh -o StrictHostKeyChecking=yes -o KnownHostsCommand="/bin/echo %H ${host.hostPublicKey.apply((k) => k.trim())}" root@${host.publicIp}`,
        knownHostsLine: host.knownHostsLine,
        bundleHash: deployment.bundleHash,
        tailscaleDeviceId: router?.deviceId,
        slots: topo.slots,
        slotAssignments: assignments.urn.apply(() => Object.fromEntries(topo.slots.map((s) => [s.name, s.state]))),
    };
    return { outputs, topology: topo, files: deployment.bundleFiles, executables: deployment.executableFiles };
}
