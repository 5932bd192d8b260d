/**
 * Pushes the NixOS bundle to the host and switches to it, over SSH:
 *
 * - `<name>-secrets`: the secret files (the Tailscale auth key), root-only, from stdin;
 * - `<name>-bundle`: the bundle, a reproducible tar written once to the operator's
 *   `.microvm-infra/bundles/<hash>.tar`, copied (`CopyToRemote`) to the host's
 *   `/var/lib/microvm-infra/incoming/<hash>.tar`. The stack's state holds the tar's path and hash,
 *   never its content;
 * - `<name>-switch`: takes the uploaded tar into `bundles/<hash>` after checking its hash, then
 *   runs `nixos-rebuild switch` detached (a transient systemd unit named after the hash), the health
 *   check, a rollback on failure. Its `triggers` are what a review reads in `pulumi preview --diff`:
 *   the bundle hash, the host, each file's hash (so a changed file is named) and the deployment
 *   data itself as structured data (so adding slot6 shows as slot6 added).
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { relative } from "path";
import { bundleHash, collectBundle, fileHashes, repoRoot, writeBundleTar } from "./bundle";
import { Connection } from "./connection";
import { incomingBundlePath, secretPathProblem, secretsCommand, secretsStdin, switchCommand } from "./remoteCommands";
import { inheritedDependsOn } from "./inherit";

export interface DeploymentArgs {
    readonly connection: Connection;
    /** The rendered deployment data (infra.json); bundled with nixos/ and what it references. */
    readonly infraJson: pulumi.Input<string>;
    /** Secret files to install root-only on the host, outside the Nix store: absolute path to content. */
    readonly secretFiles: Record<string, pulumi.Input<string>>;
    /** Every slot's name: the health check expects those that have a state to be running. */
    readonly slotNames: readonly string[];
    /** Values whose change means a new machine to deploy to (the instance id). */
    readonly hostTriggers: pulumi.Input<string>[];
    /** Whether tailscaled must be active after a switch. Defaults to `true`. */
    readonly tailscale?: boolean;
    /** The resource whose deletion makes remote deletes pointless (the host). */
    readonly deletedWith?: pulumi.Resource;
}

/**
 * How long `pulumi up` waits for the switch. A first build on a fresh metal host downloads the
 * whole closure and builds each guest's store image: 20 to 40 minutes on a1.metal. The launcher
 * gives up at 80 minutes (`MICROVM_INFRA_SWITCH_TIMEOUT`, the switch keeps running on the host
 * and the next `pulumi up` collects it); Pulumi's own limit is a little longer.
 */
export const switchTimeouts: pulumi.CustomTimeouts = { create: "90m", update: "90m", delete: "5m" };

/** Internal; exported for testing. */
export function checkSecretFiles(paths: readonly string[]): void {
    const problems = paths.map(secretPathProblem).filter((p): p is string => p !== undefined);
    if (problems.length > 0) {
        throw new Error(`Deployment secretFiles: ${problems.join("; ")}`);
    }
}

export class Deployment extends pulumi.ComponentResource {
    readonly bundleHash: pulumi.Output<string>;
    /** The files pushed to the host (relative path to content); nothing secret. */
    readonly bundleFiles: pulumi.Output<Record<string, string>>;
    /** Which of them are executable (mode 755). */
    readonly executableFiles: pulumi.Output<string[]>;

    constructor(name: string, args: DeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:nixos:Deployment", name, {}, opts);
        const secretPaths = Object.keys(args.secretFiles).sort();
        checkSecretFiles(secretPaths);
        // Children do not inherit the component's dependsOn (the state volume): pass it on.
        const after = inheritedDependsOn(opts);
        const common = { parent: this, deletedWith: args.deletedWith };

        const files = pulumi.output(args.infraJson).apply((infraJson) => collectBundle(infraJson));
        this.bundleHash = files.apply(bundleHash);
        this.bundleFiles = files.apply((fs) => Object.fromEntries(fs.map((f) => [f.path, f.content.toString("utf8")])));
        this.executableFiles = files.apply((fs) => fs.filter((f) => f.mode === "755").map((f) => f.path));

        const secrets =
            secretPaths.length === 0
                ? undefined
                : new remote.Command(
                      `${name}-secrets`,
                      {
                          connection: args.connection,
                          create: secretsCommand(secretPaths),
                          stdin: pulumi.secret(
                              pulumi
                                  .all(secretPaths.map((p) => args.secretFiles[p]))
                                  .apply((values) =>
                                      secretsStdin(
                                          secretPaths,
                                          Object.fromEntries(secretPaths.map((p, i) => [p, values[i]])),
                                      ),
                                  ),
                          ),
                          triggers: args.hostTriggers,
                          addPreviousOutputInEnv: false,
                          logging: "none",
                      },
                      { ...common, dependsOn: after, additionalSecretOutputs: ["stdout", "stderr"] },
                  );

        // The tar goes where the engine reads it from: relative to the program's directory.
        const tar = files.apply((fs) => relative(process.cwd(), `${repoRoot}/${writeBundleTar(fs)}`));
        const upload = new remote.CopyToRemote(
            `${name}-bundle`,
            {
                connection: args.connection,
                source: tar.apply((path) => new pulumi.asset.FileAsset(path)),
                remotePath: this.bundleHash.apply(incomingBundlePath),
                triggers: [this.bundleHash, ...args.hostTriggers],
            },
            { ...common, dependsOn: after, customTimeouts: { create: "30m", update: "30m" } },
        );

        const deploymentData = pulumi.output(args.infraJson).apply((text) => JSON.parse(text) as unknown);
        const sw = new remote.Command(
            `${name}-switch`,
            {
                connection: args.connection,
                create: this.bundleHash.apply((hash) =>
                    switchCommand({ hash, tailscale: args.tailscale ?? true, slots: args.slotNames }),
                ),
                triggers: [this.bundleHash, ...args.hostTriggers, files.apply(fileHashes), deploymentData],
                addPreviousOutputInEnv: false,
            },
            {
                ...common,
                dependsOn: [...after, upload, ...(secrets ? [secrets] : [])],
                customTimeouts: switchTimeouts,
            },
        );

        this.registerOutputs({ bundleHash: this.bundleHash, switchLog: sw.stderr });
    }
}
