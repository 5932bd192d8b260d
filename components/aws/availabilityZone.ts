import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { shown } from "../../lib/redact";

/**
 * The zone for a new host from the zones of the region that offer `instanceType`: the configured
 * one if it offers the type, else the first in sorted order. Throws with a message naming
 * `<configKey>.availabilityZone` (and the zones that would do) or `<configKey>.instanceType`
 * (`host`, or `hosts.<name>` in a fleet). Pure; exported for testing.
 */
export function chooseAvailabilityZone(
    instanceType: string,
    configured: string | undefined,
    offered: readonly string[],
    region: string,
    configKey = "host",
): string {
    const zones = [...new Set(offered)].sort();
    if (zones.length === 0) {
        throw new Error(
            `${configKey}.instanceType ${shown(instanceType)} is not offered in any availability zone of ${region}; choose another type or region (aws:region)`,
        );
    }
    if (configured === undefined) {
        return zones[0];
    }
    if (!zones.includes(configured)) {
        throw new Error(
            `${configKey}.availabilityZone ${shown(configured)} does not offer ${instanceType} in ${region}; use one of ${zones.join(", ")}, or unset it to take the first`,
        );
    }
    return configured;
}

/**
 * Why a host that already exists in `actual` cannot be what the config asks, or undefined. A
 * created host never changes zone (its subnet ignores a new choice, and its state volume cannot
 * leave the zone), so the config must not ask for another zone, and the instance type must be
 * offered where the host is. Pure; exported for testing.
 */
export function existingZoneProblem(
    instanceType: string,
    configured: string | undefined,
    offered: readonly string[],
    actual: string,
    configKey = "host",
): string | undefined {
    if (configured !== undefined && configured !== actual) {
        return (
            `${configKey}.availabilityZone is ${shown(configured)}, but this host was created in ${actual} and stays there (its subnet and state volume cannot move); ` +
            `set ${configKey}.availabilityZone back to ${actual} or unset it. To move a host to another zone, restore it there from a snapshot (docs/operations.md)`
        );
    }
    if (!offered.includes(actual)) {
        return (
            `${configKey}.instanceType ${shown(instanceType)} is not offered in ${actual}, the zone this host was created in and stays in; ` +
            `choose a type offered there (aws ec2 describe-instance-type-offerings --location-type availability-zone --filters Name=location,Values=${actual})`
        );
    }
    return undefined;
}

/** The zones of the region that offer `instanceType` (`ec2:DescribeInstanceTypeOfferings`), and the region. */
function offerings(instanceType: string): pulumi.Output<{ zones: string[]; region: string }> {
    const o = aws.ec2.getInstanceTypeOfferingsOutput({
        locationType: "availability-zone",
        filters: [{ name: "instance-type", values: [instanceType] }],
    });
    return pulumi.all([o, aws.getRegionOutput()]).apply(([x, r]) => ({ zones: x.locations, region: r.region }));
}

/**
 * The availability zone for a new host: the configured one after checking that it offers the
 * instance type, or the first zone of the region that does. Only a subnet being created uses it:
 * once created, the subnet keeps its zone (`ignoreChanges`), whatever AWS offers later.
 */
export function hostAvailabilityZone(
    instanceType: string,
    configured: string | undefined,
    configKey = "host",
): pulumi.Output<string> {
    return offerings(instanceType).apply(({ zones, region }) =>
        chooseAvailabilityZone(instanceType, configured, zones, region, configKey),
    );
}

/**
 * The zone the host is in (its subnet's, as AWS reports it), after checking `existingZoneProblem`:
 * an error naming the key, raised while `pulumi preview` plans (the subnet's zone is known then for
 * a host that exists), before any resource is touched.
 */
export function checkedHostZone(
    instanceType: string,
    configured: string | undefined,
    subnetZone: pulumi.Output<string>,
    configKey = "host",
): pulumi.Output<string> {
    return pulumi.all([offerings(instanceType), subnetZone]).apply(([{ zones }, actual]) => {
        const problem = existingZoneProblem(instanceType, configured, zones, actual, configKey);
        if (problem) {
            throw new Error(problem);
        }
        return actual;
    });
}
