/**
 * The whole slot-to-state map as one resource: `vm-state apply -` with `{"slots": {...}}` on
 * stdin, then every slot checked (its `microvm@<slot>` active, its VM answering on its address).
 * Moving or swapping states is a change of this map only: one update, applied by vm-state as one
 * ordered step under its lock (stop the slots that change, unlink all, relink, start).
 *
 * The per-slot health check lives here, not in the deployment: right after a first deploy no slot
 * has a state yet; this runs after the states exist and the slots were started.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { Connection } from "../deploy/connection";
import { applySlotsCommand, slotsDocument } from "../deploy/remoteCommands";
import { inheritedDependsOn } from "../deploy/inherit";
import { shown } from "../../lib/redact";

export interface SlotAssignmentsArgs {
    readonly connection: Connection;
    /** Slot name to state name, for every slot. */
    readonly assignments: Record<string, string>;
    /** Slot name to the VM's address (10.N.0.2), checked after apply. Defaults to no address check. */
    readonly addresses?: Record<string, string>;
    /** Values whose change means a new machine (the instance id): its slots are linked again. */
    readonly hostTriggers?: pulumi.Input<string>[];
    /** The resource whose deletion makes remote deletes pointless (the host). */
    readonly deletedWith?: pulumi.Resource;
}

/** Internal; exported for testing. */
export function checkAssignments(
    assignments: Record<string, string>,
    addresses: Record<string, string> | undefined,
): void {
    const states = Object.values(assignments);
    const twice = states.filter((s, i) => states.indexOf(s) !== i);
    if (twice.length > 0) {
        throw new Error(
            `SlotAssignments: state ${shown(twice[0])} is assigned to more than one slot; a state runs in one slot at most`,
        );
    }
    const missing = addresses ? Object.keys(assignments).filter((s) => addresses[s] === undefined) : [];
    if (missing.length > 0) {
        throw new Error(
            `SlotAssignments: no address for slot ${missing.map((s) => shown(s)).join(", ")}; addresses must cover every assigned slot`,
        );
    }
}

export class SlotAssignments extends pulumi.ComponentResource {
    /** The map as applied, slot to state. */
    readonly assignments: Record<string, string>;

    constructor(name: string, args: SlotAssignmentsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:state:SlotAssignments", name, {}, opts);
        checkAssignments(args.assignments, args.addresses);
        this.assignments = args.assignments;
        new remote.Command(
            `${name}-slots`,
            {
                connection: args.connection,
                create: applySlotsCommand(args.addresses ?? {}),
                stdin: slotsDocument(args.assignments),
                triggers: args.hostTriggers ?? [],
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                // Children do not inherit the component's dependsOn: the map applies after the states exist.
                dependsOn: inheritedDependsOn(opts),
                deletedWith: args.deletedWith,
                customTimeouts: { create: "30m", update: "30m" },
            },
        );
        this.registerOutputs({ assignments: this.assignments });
    }
}
