/**
 * One state (a VM's disk) as stack resources: the command `<state>` creates it (`vm-state create`,
 * `clone` or `restore`, all `--if-missing`), `<state>@<snapshot>` takes each named snapshot once.
 * `@` cannot appear in a state or snapshot name, so no two states' resources can share a name
 * (`x` with snapshot `y-state` and a state `x-snap-y` once both made `x-snap-y-state`); the
 * earlier names are aliases, so existing stacks keep their resources.
 *
 * Removing the state from the config follows its `onRemove`:
 * - `retain` (default): the resources have no delete command and `retainOnDelete`, so the stack
 *   forgets them and nothing runs on the host; the plan says "the real resource is kept".
 * - `destroy`: `vm-state delete --yes --if-exists` (snapshots: `delete-snapshot`).
 *
 * What replaces, what updates:
 * - a new host (instance id) is only a comment in the commands: the idempotent command runs
 *   again on the new machine, the resource is never replaced (a replacement would run its delete);
 * - a new `from` replaces the resources (`triggers`). With `destroy`: the old state is deleted
 *   first, then created from the new source, since both touch the same name. With `retain`: the
 *   new resource's `--if-missing` finds the state and the old one has nothing to delete, so the
 *   data stays. `triggers` are the same whatever `onRemove` says, so switching `onRemove` is an
 *   update and never runs a delete;
 * - the size only applies when the state is created (vm-state does not resize).
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { checkNames } from "../../lib/names";
import { Connection } from "../deploy/connection";
import {
    createSnapshotCommand,
    createStateCommand,
    deleteSnapshotCommand,
    deleteStateCommand,
    placeStateCommand,
    StateOrigin,
} from "../deploy/remoteCommands";
import { inheritedDependsOn } from "../deploy/inherit";

export type { StateOrigin } from "../deploy/remoteCommands";

export interface VmStateArgs {
    readonly connection: Connection;
    /** The state's name on the host. */
    readonly state: string;
    /** How it comes to exist: empty (with a size), a clone of a state, or a restore of a snapshot. */
    readonly origin: StateOrigin;
    /** Named snapshots to take once and keep. Defaults to none. */
    readonly snapshots?: readonly string[];
    /** What removing it from the stack does to its data. Defaults to `retain`. */
    readonly onRemove?: "retain" | "destroy";
    /** The host's instance id: when it changes, the commands run again on the new machine. */
    readonly hostId?: pulumi.Input<string>;
    /**
     * In a fleet of several hosts: the name of the host the state lives on. A `<state>/placement`
     * command runs there first whenever it changes, and pulls the state from the host that holds it,
     * so the state is moved, never created empty on its new host. Undefined: one host, no placement.
     */
    readonly fleetHost?: string;
    /** The resource whose deletion makes remote deletes pointless (the host). */
    readonly deletedWith?: pulumi.Resource;
}

/** What the state is made from, as its resources' trigger: `empty`, `STATE` or `STATE@SNAPSHOT`. */
export function originText(origin: StateOrigin): string {
    switch (origin.kind) {
        case "empty":
            return "empty";
        case "clone":
            return origin.source;
        case "restore":
            return `${origin.source}@${origin.snapshot}`;
    }
}

/** The resource names: `<state>` and `<state>@<snapshot>`, and the names they had before. */
export const stateResourceName = (state: string) => state;
export const snapshotResourceName = (state: string, snapshot: string) => `${state}@${snapshot}`;
export const formerStateName = (state: string) => `${state}-state`;
export const formerSnapshotName = (state: string, snapshot: string) => `${state}-snap-${snapshot}`;

/** Commands run with ordinary timeouts: a clone copies at most one image. */
const stateTimeouts: pulumi.CustomTimeouts = { create: "30m", update: "30m", delete: "10m" };

export class VmState extends pulumi.ComponentResource {
    /** The state's name on the host. */
    readonly stateName: string;

    constructor(name: string, args: VmStateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:state:VmState", name, {}, opts);
        const snapshots = args.snapshots ?? [];
        checkNames("state", [args.state]);
        checkNames("snapshot", snapshots);
        this.stateName = args.state;
        const destroy = args.onRemove === "destroy";
        const hostId = pulumi.output(args.hostId ?? "");
        const removal: pulumi.CustomResourceOptions = destroy
            ? { deleteBeforeReplace: true }
            : { retainOnDelete: true };
        // Children do not inherit the component's dependsOn: pass it on, so no command runs before
        // the deployment (and the source state) it waits for.
        const after = inheritedDependsOn(opts);
        const common = { parent: this, deletedWith: args.deletedWith, customTimeouts: stateTimeouts, ...removal };

        const placement =
            args.fleetHost === undefined
                ? undefined
                : new remote.Command(
                      `${args.state}/placement`,
                      {
                          connection: args.connection,
                          create: placeStateCommand(args.state, args.fleetHost),
                          addPreviousOutputInEnv: false,
                      },
                      {
                          parent: this,
                          deletedWith: args.deletedWith,
                          dependsOn: after,
                          customTimeouts: { create: "6h", update: "6h" },
                      },
                  );

        const triggers = [originText(args.origin)];
        const state = new remote.Command(
            stateResourceName(args.state),
            {
                connection: args.connection,
                create: hostId.apply((id) => createStateCommand(args.state, args.origin, id)),
                ...(destroy ? { delete: deleteStateCommand(args.state) } : {}),
                triggers,
                addPreviousOutputInEnv: false,
            },
            {
                ...common,
                dependsOn: [...after, ...(placement ? [placement] : [])],
                aliases: [{ name: formerStateName(args.state) }],
            },
        );

        for (const snap of snapshots) {
            new remote.Command(
                snapshotResourceName(args.state, snap),
                {
                    connection: args.connection,
                    create: hostId.apply((id) => createSnapshotCommand(args.state, snap, id)),
                    ...(destroy ? { delete: deleteSnapshotCommand(args.state, snap) } : {}),
                    triggers,
                    addPreviousOutputInEnv: false,
                },
                { ...common, dependsOn: [...after, state], aliases: [{ name: formerSnapshotName(args.state, snap) }] },
            );
        }
        this.registerOutputs({});
    }
}
