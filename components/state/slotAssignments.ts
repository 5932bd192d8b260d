import * as pulumi from "@pulumi/pulumi";
import { Connection } from "../deploy/connection";

export interface SlotAssignmentsArgs {
    readonly connection: Connection;
    /** Slot name to state name, for every slot. */
    readonly assignments: Record<string, string>;
}

/** TODO(issue 6): the whole slot-to-state map, applied with `vm-state apply`. */
export class SlotAssignments extends pulumi.ComponentResource {
    constructor(name: string, args: SlotAssignmentsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:state:SlotAssignments", name, {}, opts);
        void args;
        this.registerOutputs({});
    }
}
