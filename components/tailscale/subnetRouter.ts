/**
 * Makes the host a working subnet router once it has joined: finds its device by the node id the
 * host itself reports (never by name: a taken name gets a suffix, and a lookup by name can find the
 * machine this host replaced), then approves exactly the slots' routes, disables key expiry and
 * applies the tags on that device.
 *
 * What re-runs when (docs/tailscale.md, "What runs when"): the SSH command that reads the node id
 * runs once per machine (its triggers are the machine's id and the tailnet hostname), not on
 * every slot change; a slot added or removed only updates `DeviceSubnetRoutes.routes`, an API call.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import * as tailscale from "@pulumi/tailscale";
import { parseIpv4Cidr } from "../../infra/cidr";
import { Connection } from "../deploy/connection";
import { inheritedDependsOn } from "../deploy/inherit";
import { defaultJoinWait, HostTailnetStatus, JoinWait, joinWaitScript, nameCollision, parseTailscaleStatus } from "./status";

export interface SubnetRouterArgs {
    readonly connection: Connection;
    /** The hostname the host joins with (tailscale.hostname). */
    readonly hostname: string;
    /** Exactly the routes to approve: the topology's slot subnets. */
    readonly routes: readonly string[];
    readonly tags: readonly string[];
    /** Values whose change means a new machine that joins as a new node (the instance id). */
    readonly hostTriggers: pulumi.Input<string>[];
    /** How long to wait for the first join. Defaults to 300 s, looking every 5 s. */
    readonly joinWait?: JoinWait;
    /** The host: when it is deleted, the status command is not run against it on the way out. */
    readonly deletedWith?: pulumi.Resource;
}

/** Why a route list is invalid, naming the argument, or undefined. Internal; exported for testing. */
export function routesProblem(routes: readonly string[]): string | undefined {
    const bad = routes.find((r) => parseIpv4Cidr(r) === undefined);
    if (bad !== undefined) {
        return `routes must be IPv4 CIDRs such as 10.1.0.0/24, got "${bad}"`;
    }
    const dup = routes.find((r, i) => routes.indexOf(r) !== i);
    if (dup !== undefined) {
        return `routes must not repeat, got "${dup}" twice`;
    }
    return undefined;
}

export class SubnetRouter extends pulumi.ComponentResource {
    /** The host's stable node id, as the host reports it: the device whose routes are approved. */
    readonly deviceId: pulumi.Output<string>;
    /** The host's MagicDNS name (differs from `hostname` when the name was taken). */
    readonly dnsName: pulumi.Output<string>;
    /** The routes approved on the device: exactly `args.routes`. */
    readonly approvedRoutes: pulumi.Output<string[]>;

    constructor(name: string, args: SubnetRouterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:tailscale:SubnetRouter", name, {}, opts);
        const problem = routesProblem(args.routes);
        if (problem) {
            throw new Error(`SubnetRouter ${name}: ${problem}`);
        }
        const status = new remote.Command(`${name}-tailscale-status`, {
            connection: args.connection,
            create: joinWaitScript(args.hostname, args.joinWait ?? defaultJoinWait),
            triggers: [...args.hostTriggers, args.hostname],
            // The status names the host's public endpoints: kept out of the console and the plain state.
            logging: "stderr",
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: inheritedDependsOn(opts), deletedWith: args.deletedWith, additionalSecretOutputs: ["stdout"] });

        const reported: pulumi.Output<HostTailnetStatus> = pulumi.unsecret(status.stdout.apply((stdout) => {
            const parsed = parseTailscaleStatus(stdout);
            const collision = nameCollision(args.hostname, parsed);
            if (collision) {
                pulumi.log.warn(collision, this);
            }
            return parsed;
        }));
        this.deviceId = reported.nodeId;
        this.dnsName = reported.dnsName;

        const routes = new tailscale.DeviceSubnetRoutes(`${name}-routes`, {
            deviceId: this.deviceId,
            routes: [...args.routes],
        }, { parent: this });
        new tailscale.DeviceKey(`${name}-device-key`, {
            deviceId: this.deviceId,
            keyExpiryDisabled: true,
        }, { parent: this });
        new tailscale.DeviceTags(`${name}-device-tags`, {
            deviceId: this.deviceId,
            tags: [...args.tags],
        }, { parent: this });
        this.approvedRoutes = routes.routes;
        this.registerOutputs({ deviceId: this.deviceId, dnsName: this.dnsName, approvedRoutes: this.approvedRoutes });
    }
}
