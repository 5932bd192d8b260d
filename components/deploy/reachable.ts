/**
 * Waits, from the operator's machine, until the host answers SSH as the machine Pulumi expects (its
 * host key and its EC2 instance id) and accepts the operator's key, and makes the host serve its own
 * host key instead of the bootstrap key from user data (`local/wait-for-ssh.sh`, which runs
 * `remote/host-key.sh` on the host), before any remote command runs. Its output is the pin every
 * remote command checks. The long wait for a metal host's first boot lives here, so that the
 * remote commands retry a dial only briefly: a wrong key or a host-key mismatch then fails at once,
 * with a message that says what to do, instead of being retried as a dial error for the whole boot
 * window.
 *
 * A new machine (the instance id changed: the command is replaced, its create runs) is met with the
 * bootstrap key and cannot be reached over the tailnet; the same machine (any other input changed:
 * the address, the instance type after an in-place change; the update runs) is met with the key it
 * served last time (pulumi-command hands the previous stdout to the update:
 * lib/constraints/facts.ts commandUpdateSeesPreviousStdout). It runs once per machine and change,
 * not on every `pulumi up`.
 */
import * as pulumi from "@pulumi/pulumi";
import { local } from "@pulumi/command";
import { readFileSync } from "fs";
import { join } from "path";
import { keyWithoutComment } from "../../lib/sshKey";
import { firstBootWaitSeconds } from "./connection";
import { scriptCommand } from "./script";
import { shown } from "../../lib/redact";

export interface HostReachableArgs {
    /** Address or name Pulumi dials: the Elastic IP, or the host's tailnet name. */
    readonly address: pulumi.Input<string>;
    /** How `address` reaches the host: its Elastic IP, or its tailnet name (which a new machine does not have yet). */
    readonly via: "public" | "tailnet";
    /** Defaults to 22. */
    readonly port?: number;
    /** The bootstrap host key (OpenSSH public line) user data gives the machine at its first boot. */
    readonly bootstrapKey: pulumi.Input<string>;
    /** Secret private key; undefined means the operator's SSH agent. */
    readonly privateKey?: pulumi.Input<string>;
    /** How long to wait for the host to answer at all. Defaults to the first-boot wait (20 minutes). */
    readonly timeoutSeconds?: number;
    /** The EC2 instance the host must be: a new one means a new machine (the command is replaced). */
    readonly instanceId: pulumi.Input<string>;
    /** The instance's type, from the instance: a change (made in place, with a stop and a start) waits again. */
    readonly instanceType: pulumi.Input<string>;
}

export const waitForSshScript = join(__dirname, "local/wait-for-ssh.sh");
export const hostKeyScript = join(__dirname, "remote/host-key.sh");

/** The wait's inputs a preview ignores, so the pin stays known (see the command's options). */
export const previewIgnoredInputs = ["create", "update"] as const;

export class HostReachable extends pulumi.ComponentResource {
    /** The host key the machine serves (its own, made on the host): what every connection pins. */
    readonly hostPublicKey: pulumi.Output<string>;

    constructor(name: string, args: HostReachableArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:deploy:HostReachable", name, {}, opts);
        const timeout = args.timeoutSeconds ?? firstBootWaitSeconds;
        if (!Number.isInteger(timeout) || timeout < 1) {
            throw new Error(
                `HostReachable ${name}: timeoutSeconds must be a whole number of seconds >= 1, got ${shown(timeout)}`,
            );
        }
        const port = args.port ?? 22;
        const remote = readFileSync(hostKeyScript, "utf8");
        const command = (mode: "new" | "same") =>
            pulumi
                .all([args.address, args.bootstrapKey, args.instanceId, args.instanceType])
                .apply(([address, key, id, type]) =>
                    scriptCommand(waitForSshScript, [
                        mode,
                        address,
                        String(port),
                        String(timeout),
                        keyWithoutComment(key),
                        id,
                        type,
                        args.via,
                        remote,
                    ]),
                );
        const minutes = `${Math.ceil(timeout / 60) + 5}m`;
        const ready = new local.Command(
            `${name}-ssh-ready`,
            {
                create: command("new"),
                update: command("same"),
                interpreter: ["bash", "-c"],
                ...(args.privateKey !== undefined ? { stdin: pulumi.secret(args.privateKey) } : {}),
                // Only a new instance is a new machine; a new address or type is the same machine (the update).
                triggers: [args.instanceId],
                logging: "stderr",
                // The update meets the machine with the key it served last time (PULUMI_COMMAND_STDOUT);
                // a new instance (triggers) is a create, without it (lib/constraints/facts.ts
                // commandUpdateSeesPreviousStdout).
                addPreviousOutputInEnv: true,
            },
            {
                parent: this,
                customTimeouts: { create: minutes, update: minutes },
                // During a preview only, the scripts are ignored: an updated command's stdout is unknown in
                // a preview (pulumi-go-provider v1.3.0 infer/resource.go markComputed, as for the tailnet
                // status in components/tailscale/subnetRouter.ts), and every connection pins this stdout,
                // so a new instance type or address would show every remote command as run again, though
                // `pulumi up` meets the same machine, reads the same key and runs none of them. `pulumi up`
                // ignores nothing: the update runs and waits for the host.
                ignoreChanges: pulumi.runtime.isDryRun() ? [...previewIgnoredInputs] : [],
            },
        );
        this.hostPublicKey = ready.stdout.apply((s) => s.trim());
        this.registerOutputs({ hostPublicKey: this.hostPublicKey });
    }
}
