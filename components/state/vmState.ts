import * as pulumi from "@pulumi/pulumi";
import { StateConfig } from "../../infra/config";
import { Connection } from "../deploy/connection";

export interface VmStateArgs {
    readonly connection: Connection;
    readonly state: StateConfig;
}

/** TODO(issue 6): one declared state (create/clone/restore --if-missing) and its named snapshots. */
export class VmState extends pulumi.ComponentResource {
    constructor(name: string, args: VmStateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:state:VmState", name, {}, opts);
        void args;
        this.registerOutputs({});
    }
}
