/**
 * The whole stack, wired from the validated config. Reading top to bottom follows what `pulumi up`
 * does: what the fleet shares (network, role, tailnet policy, backups), then for each host: AWS
 * (the instance, its state volume), over SSH (the NixOS deployment, its states, its slot map), and
 * Tailscale (its routes). A one-host stack has one host, `main`, whose resources keep the names they
 * always had.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { checkedHostZone, hostAvailabilityZone } from "../components/aws/availabilityZone";
import { StateVolumeBackups } from "../components/aws/backups";
import { Host } from "../components/aws/host";
import { HostRole } from "../components/aws/hostRole";
import { Network } from "../components/aws/network";
import { StateVolume } from "../components/aws/stateVolume";
import { knownHostsLine } from "../components/aws/userData";
import { hostConnection } from "../components/deploy/connection";
import { Deployment } from "../components/deploy/deployment";
import { HostReachable } from "../components/deploy/reachable";
import { MovedCopies } from "../components/state/movedCopies";
import { SlotAssignments } from "../components/state/slotAssignments";
import { StateOrigin, VmState } from "../components/state/vmState";
import { HostAuthKey } from "../components/tailscale/authKey";
import { TailnetPolicy } from "../components/tailscale/policy";
import { SubnetRouter } from "../components/tailscale/subnetRouter";
import { FleetData, fleetTransferKeyFile, renderDeploymentData, tailscaleAuthKeyFile } from "../lib/deploymentData";
import { alertWebhookEnvFile } from "../lib/observabilityData";
import { hostScopedName } from "../lib/names";
import { keyWithoutComment } from "../lib/sshKey";
import { FleetHost, primaryHost, StateConfig, usesStateVolume } from "./config";
import { deploymentData, fleetReplicas, hostIdFor } from "./deploymentData";
import { alertWebhookEnvText, observabilityGrants } from "./observabilityData";
import { LoadedConfig } from "./stackConfig";
import { Topology, topology } from "./topology";

/** How a configured state comes to exist on the host. */
export function stateOrigin(state: StateConfig): StateOrigin {
    if (!state.from) {
        return { kind: "empty", sizeGiB: state.diskGiB };
    }
    return state.from.snapshot === undefined
        ? { kind: "clone", source: state.from.state }
        : { kind: "restore", source: state.from.state, snapshot: state.from.snapshot };
}

const baseName = "microvm";

/** The one rule for a host's resource names (lib/names.ts): `main` keeps the one-host names. */
export function hostResourceName(host: string): string {
    return hostScopedName(baseName, host, primaryHost);
}

/** What AWS creates for one host, and the machine reached over SSH, before anything runs on it. */
interface Machine {
    readonly cfg: FleetHost;
    readonly name: string;
    readonly host: Host;
    /** Where Pulumi dials it: the Elastic IP, or its tailnet name. */
    readonly address: pulumi.Input<string>;
    /** The machine answers, is the instance expected, and serves its own host key (the pin). */
    readonly reachable: HostReachable;
    readonly volume?: StateVolume;
    readonly topology: Topology;
}

export function defineInfrastructure(loaded: LoadedConfig) {
    const { cfg } = loaded;
    const topo = topology(cfg.slots);
    const tags = { Project: pulumi.getProject(), Stack: pulumi.getStack(), ManagedBy: "pulumi" };
    const fleet = cfg.hosts.length > 1;

    // --- What the fleet shares: the VPC and security group, the hosts' role, backups ---
    const configKey = (h: FleetHost) => (fleet ? `hosts.${h.name}` : "host");
    // The zone a host's subnet is created in; once created, the subnet's own zone is the host's.
    const zoneOf = new Map(
        cfg.hosts.map((h) => [h.name, hostAvailabilityZone(h.instanceType, h.availabilityZone, configKey(h))]),
    );
    const first = cfg.hosts.find((h) => h.name === primaryHost) ?? cfg.hosts[0];
    const published = topo.slots.flatMap((s) =>
        s.publish.flatMap((p) =>
            p.to === "internet" ? [{ slot: s.name, hostPort: p.hostPort!, sources: p.sources! }] : [],
        ),
    );
    const network = new Network(baseName, {
        ...cfg.network,
        availabilityZone: zoneOf.get(first.name)!,
        moreSubnets: cfg.hosts
            .filter((h) => h.subnetCidr !== cfg.network.subnetCidr)
            .map((h) => ({ key: h.name, cidr: h.subnetCidr, availabilityZone: zoneOf.get(h.name)! })),
        adminCidrs: cfg.host.adminCidrs,
        tailscale: cfg.tailscale.enabled,
        published,
        tags,
    });
    const role = new HostRole(baseName, { tags });
    if (cfg.backups) {
        new StateVolumeBackups(`${baseName}-backups`, { ...cfg.backups, tags });
    }

    // --- AWS, per host: the instance and its state volume ---
    const machines: Machine[] = cfg.hosts.map((h) => {
        const name = hostResourceName(h.name);
        const onMainSubnet = h.subnetCidr === cfg.network.subnetCidr;
        const zone = checkedHostZone(
            h.instanceType,
            h.availabilityZone,
            onMainSubnet ? network.subnetZone : network.moreSubnetZones[h.name],
            configKey(h),
        );
        const host = new Host(name, {
            instanceType: h.instanceType,
            ami: h.ami,
            rootVolumeGiB: h.rootVolumeGiB,
            firstBootKey: cfg.host.sshPublicKeys[0],
            subnetId: onMainSubnet ? network.subnetId : network.moreSubnetIds[h.name],
            securityGroupIds: [network.securityGroupId],
            instanceProfileName: role.instanceProfileName,
            availabilityZone: zone,
            tags,
        });
        // Every remote command waits for this (through the deployment), and so does the state
        // volume's attachment: on a replacement the old host (stopped by the detach) keeps running
        // until the new machine has booted and answered.
        const address = h.connectVia === "tailscale" ? h.tailscaleHostname : host.publicIp;
        const reachable = new HostReachable(name, {
            address,
            via: h.connectVia === "tailscale" ? "tailnet" : "public",
            bootstrapKey: host.bootstrapPublicKey,
            privateKey: loaded.sshPrivateKey,
            instanceId: host.instanceId,
            instanceType: host.instanceType,
        });
        const volume = usesStateVolume(h.storage.backend)
            ? new StateVolume(name, {
                  availabilityZone: host.availabilityZone,
                  sizeGiB: h.storage.volumeGiB,
                  sizeKey: `${fleet ? `hosts.${h.name}.` : ""}storage.volumeGiB`,
                  volumeType: h.storage.volumeType,
                  iops: h.storage.iops,
                  throughputMiBps: h.storage.throughputMiBps,
                  snapshotId: h.fromSnapshot,
                  instanceId: host.instanceId,
                  attachAfter: [reachable],
                  tags,
              })
            : undefined;
        return {
            cfg: h,
            name,
            host,
            address,
            reachable,
            volume,
            topology: topology(cfg.slots.filter((s) => s.host === h.name)),
        };
    });

    // --- The fleet's own key, for moving and replicating states between hosts ---
    const transferKey = fleet
        ? new tls.PrivateKey(
              `${baseName}-fleet-transfer`,
              { algorithm: "ED25519" },
              { additionalSecretOutputs: ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"] },
          )
        : undefined;
    const fleetData = (self: string): pulumi.Output<FleetData> | undefined =>
        transferKey &&
        pulumi
            .all([
                transferKey.publicKeyOpenssh,
                pulumi.all(machines.map((m) => pulumi.all([m.host.privateIp, m.reachable.hostPublicKey]))),
            ])
            .apply(([pub, hosts]) => ({
                self,
                hosts: machines.map((m, i) => ({
                    name: m.cfg.name,
                    address: hosts[i][0],
                    backend: m.cfg.storage.backend,
                    hostKey: keyWithoutComment(hosts[i][1]),
                })),
                transferKeyFile: fleetTransferKeyFile,
                transferPublicKey: `${keyWithoutComment(pub)} microvm-infra-fleet`,
                replicas: fleetReplicas(cfg),
            }));

    // The policy (optional) must own the tags before a key with those tags can be created.
    const policySlots = topo.slots.map((s) => ({
        name: s.name,
        subnet: s.subnet,
        tailnetPorts: s.publish.filter((p) => p.to === "tailnet").map((p) => p.port),
    }));
    const policy =
        cfg.tailscale.enabled && cfg.tailscale.managePolicy
            ? new TailnetPolicy(baseName, {
                  tags: cfg.tailscale.tags,
                  slots: policySlots,
                  observability: observabilityGrants(cfg),
              })
            : undefined;

    // --- Over SSH, per host: the NixOS deployment ---
    const deployed = machines.map((m) => {
        const authKey = cfg.tailscale.enabled
            ? new HostAuthKey(
                  m.name,
                  { tags: cfg.tailscale.tags, machineId: m.host.instanceId },
                  { dependsOn: policy ? [policy] : [] },
              )
            : undefined;
        const connection = hostConnection({
            address: m.address,
            hostPublicKey: m.reachable.hostPublicKey,
            privateKey: loaded.sshPrivateKey,
        });
        const hostId = hostIdFor(
            pulumi.getProject(),
            m.cfg.name === primaryHost ? pulumi.getStack() : `${pulumi.getStack()}/${m.cfg.name}`,
        );
        // The alerts' webhook goes to the collector only, as a root-only file (never in infra.json).
        const webhook = m.cfg.name === cfg.observability.collector ? loaded.alertWebhookUrl : undefined;
        const infraJson = pulumi
            .all([pulumi.output(m.volume?.devicePath), pulumi.output(fleetData(m.cfg.name))])
            .apply(([device, fleetBlock]) =>
                renderDeploymentData(
                    deploymentData(cfg, m.cfg, m.topology, hostId, device, fleetBlock, webhook !== undefined),
                ),
            );
        const secretFiles: Record<string, pulumi.Input<string>> = {
            ...(authKey ? { [tailscaleAuthKeyFile]: authKey.key } : {}),
            ...(transferKey ? { [fleetTransferKeyFile]: transferKey.privateKeyOpenssh } : {}),
            ...(webhook ? { [alertWebhookEnvFile]: pulumi.secret(webhook.apply(alertWebhookEnvText)) } : {}),
        };
        const deployment = new Deployment(
            m.name,
            {
                connection,
                infraJson,
                secretFiles,
                slotNames: m.topology.slots.map((s) => s.name),
                hostTriggers: [m.host.instanceId],
                tailscale: cfg.tailscale.enabled,
                deletedWith: m.host,
            },
            { dependsOn: [m.reachable, ...(m.volume ? [m.volume] : [])] },
        );
        return { ...m, connection, deployment };
    });
    const on = (host: string) => deployed.find((d) => d.cfg.name === host)!;

    // --- Over SSH: the states (each on its host; in a fleet, placed there first) and each host's slot map ---
    const states = new Map<string, VmState>();
    for (const state of cfg.states) {
        const source = state.from ? states.get(state.from.state) : undefined;
        const d = on(state.host);
        states.set(
            state.name,
            new VmState(
                state.name,
                {
                    connection: d.connection,
                    state: state.name,
                    origin: stateOrigin(state),
                    snapshots: state.snapshots,
                    onRemove: state.onRemove,
                    hostId: d.host.instanceId,
                    fleetHost: fleet ? state.host : undefined,
                    deletedWith: d.host,
                },
                {
                    dependsOn: [
                        ...(fleet ? deployed.map((x) => x.deployment) : [d.deployment]),
                        ...(source ? [source] : []),
                    ],
                },
            ),
        );
    }
    const hosts = deployed.map((d) => {
        const slots = d.topology.slots;
        const assignments = new SlotAssignments(
            d.name,
            {
                connection: d.connection,
                assignments: Object.fromEntries(slots.map((s) => [s.name, s.state])),
                addresses: Object.fromEntries(slots.map((s) => [s.name, s.address])),
                hostTriggers: [d.host.instanceId],
                deletedWith: d.host,
            },
            { dependsOn: [d.deployment, ...slots.map((s) => states.get(s.state)!)] },
        );

        // --- Tailscale: this host's slots' routes ---
        const router = cfg.tailscale.enabled
            ? new SubnetRouter(
                  d.name,
                  {
                      connection: d.connection,
                      hostname: d.cfg.tailscaleHostname,
                      routes: d.topology.routes,
                      tags: cfg.tailscale.tags,
                      hostTriggers: [d.host.instanceId],
                      deletedWith: d.host,
                  },
                  { dependsOn: [d.deployment, ...(policy ? [policy] : [])] },
              )
            : undefined;
        return { ...d, assignments, router };
    });

    // --- In a fleet: the copies kept after a move, removed where the state's onRemove says destroy ---
    for (const h of fleet ? hosts : []) {
        const gone = cfg.states.filter((s) => s.onRemove === "destroy" && s.host !== h.cfg.name).map((s) => s.name);
        if (gone.length > 0) {
            new MovedCopies(
                h.name,
                { connection: h.connection, states: gone, hostTriggers: [h.host.instanceId], deletedWith: h.host },
                { dependsOn: [...hosts.map((x) => x.assignments), ...gone.map((s) => states.get(s)!)] },
            );
        }
    }

    const hostOutputs = (h: (typeof hosts)[number]) => ({
        hostId: h.host.instanceId,
        publicIp: h.host.publicIp,
        availabilityZone: h.host.availabilityZone,
        stateVolumeId: h.volume?.volumeId,
        stateDevicePath: h.volume?.devicePath,
        // Pins the key the host serves (made on the host, reported over a connection pinned before)
        // instead of trusting on first use (OpenSSH 8.5+).
        sshCommand: pulumi.interpolate`ssh -o StrictHostKeyChecking=yes -o KnownHostsCommand="/bin/echo %H ${h.reachable.hostPublicKey}" root@${h.host.publicIp}`,
        knownHostsLine: pulumi
            .all([h.host.publicIp, h.reachable.hostPublicKey])
            .apply(([ip, key]) => knownHostsLine(ip, key)),
        bundleHash: h.deployment.bundleHash,
        tailscaleDeviceId: h.router?.deviceId,
    });
    const primary = hosts.find((h) => h.cfg.name === primaryHost) ?? hosts[0];
    const outputs = {
        ...hostOutputs(primary),
        slots: topo.slots,
        slotAssignments: pulumi
            .all(hosts.map((h) => h.assignments.urn))
            .apply(() => Object.fromEntries(topo.slots.map((s) => [s.name, s.state]))),
        ...(fleet
            ? {
                  hosts: Object.fromEntries(
                      hosts.map((h) => [h.cfg.name, { ...hostOutputs(h), privateIp: h.host.privateIp }]),
                  ),
              }
            : {}),
    };
    return {
        outputs,
        topology: topo,
        files: primary.deployment.bundleFiles,
        executables: primary.deployment.executableFiles,
        hostFiles: Object.fromEntries(hosts.map((h) => [h.cfg.name, h.deployment.bundleFiles])),
    };
}
