/**
 * Makes the host a working subnet router once it has joined: finds its device by the node id the
 * host itself reports (never by name: a taken name gets a suffix, and a lookup by name can find the
 * machine this host replaced), then approves exactly the slots' routes on that device, keeps its key
 * from expiring and keeps its tags in step with `tailscale.tags` (the auth key applies them at the
 * first join only; `DeviceTags` carries a later edit to the running host).
 *
 * Deleting is safe: `DeviceKey` and `DeviceTags` are `retainOnDelete`, because the provider's delete
 * would re-enable key expiry or set an empty tag list (which the API refuses for a tagged device),
 * making a destroy or a host replacement fail. Removing routes is `DeviceSubnetRoutes`' delete.
 *
 * What re-runs when (docs/tailscale.md, "What runs when"): the SSH command that reads the node id
 * runs once per machine (its trigger is the machine's id), and again when the way to the host or
 * its arguments change; never on a slot change: a slot added or removed only updates
 * `DeviceSubnetRoutes.routes`, an API call. The name check reads the device list live on every
 * run, so its warning ends once the device is renamed.
 *
 * Quiet previews. The node id is the machine's: only a new machine (a new instance id, the
 * command's trigger) has another. But an updated command's `stdout` is unknown during a preview
 * (pulumi-command v1.2.1 is built on pulumi-go-provider v1.3.0's `infer`, whose default wiring
 * makes every output depend on every input and marks it unknown in a preview when one changed:
 * infer/resource.go `ensureDefaultComputed` and `markComputed`), and the device resources'
 * `device_id` is RequiresReplace in the provider (terraform-provider-tailscale v0.29.2,
 * resource_device_subnet_routes.go, resource_device_key.go, resource_device_tags.go), which
 * terraform-plugin-framework v1.19.0 turns into a replacement for any planned value that differs
 * from the state, an unknown one included (stringplanmodifier/requires_replace_if.go, lines 62-72).
 * So a new way in (`connectVia`) or a new SSH key made `pulumi preview` show the routes, key and
 * tags replaced, though `pulumi up` then read the same node id and changed nothing. During a
 * preview only, the command's connection and script are ignored (`previewIgnoredInputs`): its
 * last output, and so the device id, stay known unless the machine changes. `pulumi up` itself
 * ignores nothing, so the command runs with the connection of the day (an ignoreChanges kept for
 * `up` would also hand a replacement the old connection: pulumi/pulumi step_generator.go applies
 * ignoreChanges before deciding to replace).
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import * as tailscale from "@pulumi/tailscale";
import { parseIpv4Cidr } from "../../lib/cidr";
import { shown } from "../../lib/redact";
import { Connection } from "../deploy/connection";
import { inheritedDependsOn } from "../deploy/inherit";
import {
    defaultJoinWait,
    HostTailnetStatus,
    JoinWait,
    joinWaitScript,
    nameCollision,
    parseTailscaleStatus,
} from "./status";
import { tagProblem } from "./tags";

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

/** Why the args are invalid, naming the argument, or undefined. Internal; exported for testing. */
export function routesProblem(routes: readonly string[]): string | undefined {
    const bad = routes.find((r) => parseIpv4Cidr(r) === undefined);
    if (bad !== undefined) {
        return `routes must be IPv4 CIDRs such as 10.1.0.0/24, got ${shown(bad)}`;
    }
    const dup = routes.find((r, i) => routes.indexOf(r) !== i);
    if (dup !== undefined) {
        return `routes must not repeat, got ${shown(dup)} twice`;
    }
    return undefined;
}

/** The status command's inputs a preview ignores, so the device id stays known (see above). */
export const previewIgnoredInputs = ["connection", "create"] as const;

export class SubnetRouter extends pulumi.ComponentResource {
    /** The host's stable node id, as the host reports it: the device whose routes are approved. */
    readonly deviceId: pulumi.Output<string>;
    /** The host's MagicDNS name when it joined (differs from `hostname` when the name was taken). */
    readonly dnsName: pulumi.Output<string>;
    /** The routes approved on the device: exactly `args.routes`. */
    readonly approvedRoutes: pulumi.Output<string[]>;

    constructor(name: string, args: SubnetRouterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:tailscale:SubnetRouter", name, {}, opts);
        const problem = routesProblem(args.routes) ?? args.tags.map(tagProblem).find((p) => p !== undefined);
        if (problem) {
            throw new Error(`SubnetRouter ${name}: ${problem}`);
        }
        const status = new remote.Command(
            `${name}-tailscale-status`,
            {
                connection: args.connection,
                create: joinWaitScript(args.hostname, args.joinWait ?? defaultJoinWait),
                // The machine alone: a new hostname changes the script, which runs it again, same node.
                triggers: [...args.hostTriggers],
                // The status names the host's public endpoints: kept out of the console and the plain state.
                logging: "stderr",
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                dependsOn: inheritedDependsOn(opts),
                deletedWith: args.deletedWith,
                additionalSecretOutputs: ["stdout"],
                ignoreChanges: pulumi.runtime.isDryRun() ? [...previewIgnoredInputs] : [],
            },
        );

        const reported: pulumi.Output<HostTailnetStatus> = pulumi.unsecret(status.stdout.apply(parseTailscaleStatus));
        this.deviceId = reported.nodeId;
        this.dnsName = reported.dnsName;

        // The device's name now (not when it joined): a lookup on every run, nothing kept in state.
        const devices = tailscale.getDevicesOutput({}, { parent: this });
        pulumi.all([this.deviceId, devices]).apply(([nodeId, found]) => {
            const device = found.devices?.find((d) => d.nodeId === nodeId);
            const collision = device ? nameCollision(args.hostname, { nodeId, dnsName: device.name }) : undefined;
            if (collision) {
                pulumi.log.warn(collision, this);
            }
        });

        const routes = new tailscale.DeviceSubnetRoutes(
            `${name}-routes`,
            {
                deviceId: this.deviceId,
                routes: [...args.routes],
            },
            { parent: this },
        );
        const safeToDelete = { parent: this, retainOnDelete: true };
        new tailscale.DeviceKey(
            `${name}-device-key`,
            { deviceId: this.deviceId, keyExpiryDisabled: true },
            safeToDelete,
        );
        new tailscale.DeviceTags(
            `${name}-device-tags`,
            { deviceId: this.deviceId, tags: [...args.tags] },
            safeToDelete,
        );
        this.approvedRoutes = routes.routes;
        this.registerOutputs({ deviceId: this.deviceId, dnsName: this.dnsName, approvedRoutes: this.approvedRoutes });
    }
}
