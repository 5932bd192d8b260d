/**
 * Waits, from the operator's machine, until the host answers SSH with the host key the stack
 * generated and accepts the operator's key (`local/wait-for-ssh.sh`), before any remote command
 * runs. The long wait for a metal host's first boot lives here, so that the remote commands retry
 * a dial only briefly: a wrong key or a host-key mismatch then fails at once, with a message that
 * says what to do, instead of being retried as a dial error for the whole boot window.
 *
 * It runs once per machine and address (its triggers), not on every `pulumi up`.
 */
import * as pulumi from "@pulumi/pulumi";
import { local } from "@pulumi/command";
import { join } from "path";
import { keyWithoutComment } from "../../lib/sshKey";
import { firstBootWaitSeconds } from "./connection";
import { scriptCommand } from "./script";

export interface HostReachableArgs {
    /** Address or name Pulumi dials: the Elastic IP, or the host's tailnet name. */
    readonly address: pulumi.Input<string>;
    /** Defaults to 22. */
    readonly port?: number;
    /** The host's SSH public key (OpenSSH line), pinned. */
    readonly hostPublicKey: pulumi.Input<string>;
    /** Secret private key; undefined means the operator's SSH agent. */
    readonly privateKey?: pulumi.Input<string>;
    /** How long to wait for the host to answer at all. Defaults to the first-boot wait (20 minutes). */
    readonly timeoutSeconds?: number;
    /** Values whose change means a new machine to wait for (the instance id). */
    readonly triggers: pulumi.Input<string>[];
}

export const waitForSshScript = join(__dirname, "local/wait-for-ssh.sh");

export class HostReachable extends pulumi.ComponentResource {
    constructor(name: string, args: HostReachableArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:deploy:HostReachable", name, {}, opts);
        const timeout = args.timeoutSeconds ?? firstBootWaitSeconds;
        if (!Number.isInteger(timeout) || timeout < 1) {
            throw new Error(`HostReachable ${name}: timeoutSeconds must be a whole number of seconds >= 1, got ${timeout}`);
        }
        const port = args.port ?? 22;
        new local.Command(`${name}-ssh-ready`, {
            create: pulumi.all([args.address, args.hostPublicKey]).apply(([address, key]) =>
                scriptCommand(waitForSshScript, [address, String(port), String(timeout), keyWithoutComment(key)])),
            interpreter: ["bash", "-c"],
            ...(args.privateKey !== undefined ? { stdin: pulumi.secret(args.privateKey) } : {}),
            triggers: [...args.triggers, args.address],
            logging: "stderr",
            addPreviousOutputInEnv: false,
        }, { parent: this, customTimeouts: { create: `${Math.ceil(timeout / 60) + 5}m`, update: `${Math.ceil(timeout / 60) + 5}m` } });
        this.registerOutputs({});
    }
}
