import * as pulumi from "@pulumi/pulumi";
import { SlotIdentity } from "../../infra/topology";
import { Connection } from "./connection";

export interface DeploymentArgs {
    readonly connection: Connection;
    /** The rendered deployment data (infra.json); bundled with nixos/ and what it references. */
    readonly infraJson: pulumi.Input<string>;
    /** Secret files to install root-only on the host, outside the Nix store: absolute path to content. */
    readonly secretFiles: Record<string, pulumi.Input<string>>;
    /** The slots the health check expects to see running. */
    readonly slots: readonly SlotIdentity[];
    /** Values whose change means a new machine to deploy to (the instance id). */
    readonly hostTriggers: pulumi.Input<string>[];
}

/** TODO(issue 6): push the bundle content-addressed, switch detached, health check, roll back. */
export class Deployment extends pulumi.ComponentResource {
    readonly bundleHash: pulumi.Output<string>;
    /** The files pushed to the host (relative path to content); nothing secret. */
    readonly bundleFiles: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: DeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:nixos:Deployment", name, {}, opts);
        this.bundleHash = pulumi.output("");
        this.bundleFiles = pulumi.output(args.infraJson).apply((infraJson): Record<string, string> => ({ "infra.json": infraJson }));
        this.registerOutputs({ bundleHash: this.bundleHash });
    }
}
