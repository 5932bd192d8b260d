/**
 * Children of a component do not inherit its `dependsOn`. The remote commands must still wait for
 * what their component waits for (the deployment, a source state), so components pass it on.
 */
import * as pulumi from "@pulumi/pulumi";

/** The component's `dependsOn` as a list, to give to its children. */
export function inheritedDependsOn(opts: pulumi.ResourceOptions | undefined): pulumi.Input<pulumi.Resource>[] {
    const d = opts?.dependsOn;
    if (d === undefined) {
        return [];
    }
    return Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>];
}
