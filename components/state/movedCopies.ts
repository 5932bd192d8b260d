/**
 * In a fleet: the copies one host keeps of states that moved to another host. vm-state hides the
 * source's copy at a move (`gc --fleet-moved` removes it); for the states whose config says
 * `onRemove: destroy`, this removes it once the state runs on its new host. States that keep
 * removed data (`onRemove: retain`, the default) are never listed, so their copies stay until an
 * operator runs `vm-state gc --fleet-moved` on the source.
 *
 * The command runs when the list changes: a state with `onRemove: destroy` that leaves this host
 * enters its list (it lives elsewhere now), so the move's source collects right after the move.
 * Nothing runs on delete: the copies are only ever removed by the command above.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { Connection } from "../deploy/connection";
import { inheritedDependsOn } from "../deploy/inherit";
import { collectMovedCommand } from "../deploy/remoteCommands";

export interface MovedCopiesArgs {
    readonly connection: Connection;
    /** States with `onRemove: destroy` that live on other hosts of the fleet (not empty). */
    readonly states: readonly string[];
    /** Values whose change means a new machine (the instance id). */
    readonly hostTriggers: pulumi.Input<string>[];
    /** The resource whose deletion makes remote deletes pointless (the host). */
    readonly deletedWith?: pulumi.Resource;
}

export class MovedCopies extends pulumi.ComponentResource {
    constructor(name: string, args: MovedCopiesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:state:MovedCopies", name, {}, opts);
        const states = [...args.states].sort();
        new remote.Command(
            `${name}-moved-copies`,
            {
                connection: args.connection,
                create: collectMovedCommand(states),
                triggers: [...args.hostTriggers, ...states],
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                // After the moves: the states run on their new hosts first.
                dependsOn: inheritedDependsOn(opts),
                deletedWith: args.deletedWith,
            },
        );
        this.registerOutputs({});
    }
}
