import * as pulumi from "@pulumi/pulumi";

/**
 * TODO(issue 3): the availability zone for the host: the configured one after checking that it
 * offers the instance type, or the first zone of the region that does.
 */
export function hostAvailabilityZone(instanceType: string, configured: string | undefined): pulumi.Output<string> {
    void instanceType;
    return pulumi.output(configured ?? "");
}
