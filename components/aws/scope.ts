/** The stack's partition, region and account, looked up once per component that scopes ARNs to them. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ArnScope } from "./policies";

export function stackArnScope(parent: pulumi.Resource): pulumi.Output<ArnScope> {
    return pulumi
        .all([
            aws.getPartitionOutput({}, { parent }),
            aws.getRegionOutput({}, { parent }),
            aws.getCallerIdentityOutput({}, { parent }),
        ])
        .apply(([p, r, c]) => ({ partition: p.partition, region: r.region, accountId: c.accountId }));
}
