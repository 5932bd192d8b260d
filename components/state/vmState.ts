/**
 * One declared state as stack resources: `<state>-state` creates it (`vm-state create`, `clone`
 * or `restore`, all `--if-missing`), `<state>-snap-<snapshot>` takes each named snapshot once.
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
import { StateConfig } from "../../infra/config";
import { Connection } from "../deploy/connection";
import { createSnapshotCommand, createStateCommand, deleteSnapshotCommand, deleteStateCommand, StateOrigin } from "../deploy/remoteScripts";
import { inheritedDependsOn } from "../deploy/inherit";

export interface VmStateArgs {
    readonly connection: Connection;
    readonly state: StateConfig;
    /** The host's instance id: when it changes, the commands run again on the new machine. */
    readonly hostId?: pulumi.Input<string>;
    /** The resource whose deletion makes remote deletes pointless (the host). */
    readonly deletedWith?: pulumi.Resource;
}

/** How a state comes to exist. Internal; exported for testing. */
export function stateOrigin(state: StateConfig): StateOrigin {
    if (!state.from) {
        return { kind: "empty", sizeGiB: state.diskGiB };
    }
    return state.from.snapshot === undefined
        ? { kind: "clone", source: state.from.state }
        : { kind: "restore", source: state.from.state, snapshot: state.from.snapshot };
}

/** What the state is made from, as its resources' trigger: `empty`, `STATE` or `STATE@SNAPSHOT`. */
export function originText(state: StateConfig): string {
    return state.from ? `${state.from.state}${state.from.snapshot !== undefined ? `@${state.from.snapshot}` : ""}` : "empty";
}

/** Commands run with ordinary timeouts: a clone copies at most one image. */
const stateTimeouts: pulumi.CustomTimeouts = { create: "30m", update: "30m", delete: "10m" };

export class VmState extends pulumi.ComponentResource {
    /** The state's name on the host. */
    readonly stateName: string;

    constructor(name: string, args: VmStateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:state:VmState", name, {}, opts);
        const s = args.state;
        this.stateName = s.name;
        const destroy = s.onRemove === "destroy";
        const hostId = pulumi.output(args.hostId ?? "");
        const removal: pulumi.CustomResourceOptions = destroy ? { deleteBeforeReplace: true } : { retainOnDelete: true };
        // Children do not inherit the component's dependsOn: pass it on, so no command runs before
        // the deployment (and the source state) it waits for.
        const after = inheritedDependsOn(opts);
        const common = { parent: this, deletedWith: args.deletedWith, customTimeouts: stateTimeouts, ...removal };

        const triggers = [originText(s)];
        const state = new remote.Command(`${name}-state`, {
            connection: args.connection,
            create: hostId.apply((id) => createStateCommand(s.name, stateOrigin(s), id)),
            ...(destroy ? { delete: deleteStateCommand(s.name) } : {}),
            triggers,
            addPreviousOutputInEnv: false,
        }, { ...common, dependsOn: after });

        for (const snap of s.snapshots) {
            new remote.Command(`${name}-snap-${snap}`, {
                connection: args.connection,
                create: hostId.apply((id) => createSnapshotCommand(s.name, snap, id)),
                ...(destroy ? { delete: deleteSnapshotCommand(s.name, snap) } : {}),
                triggers,
                addPreviousOutputInEnv: false,
            }, { ...common, dependsOn: [...after, state] });
        }
        this.registerOutputs({});
    }
}
