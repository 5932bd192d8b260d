import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * The zone for the host from the zones of the region that offer `instanceType`: the configured
 * one if it offers the type, else the first in sorted order. Throws with a message naming
 * `<configKey>.availabilityZone` (and the zones that would do) or `<configKey>.instanceType`
 * (`host`, or `hosts.<name>` in a fleet). Pure; exported for testing.
 */
export function chooseAvailabilityZone(instanceType: string, configured: string | undefined, offered: readonly string[], region: string, configKey = "host"): string {
    const zones = [...new Set(offered)].sort();
    if (zones.length === 0) {
        throw new Error(`${configKey}.instanceType "${instanceType}" is not offered in any availability zone of ${region}; choose another type or region (aws:region)`);
    }
    if (configured === undefined) {
        return zones[0];
    }
    if (!zones.includes(configured)) {
        throw new Error(`${configKey}.availabilityZone "${configured}" does not offer ${instanceType} in ${region}; use one of ${zones.join(", ")}, or unset it to take the first`);
    }
    return configured;
}

/**
 * The availability zone for the host: the configured one after checking that it offers the
 * instance type, or the first zone of the region that does (`ec2:DescribeInstanceTypeOfferings`).
 * Once the state volume exists, keep this zone (set `host.availabilityZone` to the stack output
 * `availabilityZone`): an EBS volume cannot move between zones.
 */
export function hostAvailabilityZone(instanceType: string, configured: string | undefined, configKey = "host"): pulumi.Output<string> {
    const offerings = aws.ec2.getInstanceTypeOfferingsOutput({
        locationType: "availability-zone",
        filters: [{ name: "instance-type", values: [instanceType] }],
    });
    const region = aws.getRegionOutput();
    return pulumi.all([offerings, region]).apply(([o, r]) => chooseAvailabilityZone(instanceType, configured, o.locations, r.region, configKey));
}
