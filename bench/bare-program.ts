/**
 * The baseline for bench/plan.ts: a mocked Pulumi program that loads the same providers (and the
 * same provider modules) as ours and declares nothing. What our plan takes beyond this is ours.
 */
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import * as tls from "@pulumi/tls";

void [
    aws.ec2.Instance,
    aws.ec2.Vpc,
    aws.iam.Role,
    aws.ebs.Volume,
    command.remote.Command,
    tailscale.TailnetKey,
    tls.PrivateKey,
];
pulumi.runtime
    .setMocks(
        { newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs },
        "microvm-infra",
        "bench",
        true,
    )
    .then(() => process.stdout.write("{}\n"));
