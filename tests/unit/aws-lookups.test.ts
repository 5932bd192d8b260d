/**
 * The AWS lookups as the mock runtime sees them: the queries actually sent (AMI filters, instance
 * type offerings, the state volume's current size). The errors a bad pin or zone produces are tested on the pure checks
 * (aws-rules.test.ts): a failed Output under the mock runtime ends Jest's process.
 */
import * as pulumi from "@pulumi/pulumi";
import { hostAvailabilityZone } from "../../components/aws/availabilityZone";
import { hostAmi, nixosAmiLookup } from "../../components/aws/nixosAmi";
import { StateVolume } from "../../components/aws/stateVolume";
import { Recorder, startMockRuntime } from "../../tools/plan/mockRuntime";

function settle<T>(output: pulumi.Output<T>): Promise<T> {
    return (output as any).promise() as Promise<T>;
}

describe("AWS lookups", () => {
    let recorder: Recorder;
    beforeAll(async () => {
        recorder = await startMockRuntime("microvm-infra", "dev", { "aws:region": "us-east-1" }, []);
    });
    const callsOf = (token: string) => recorder.calls.filter((c) => c.token === token);

    test("the unpinned AMI: the official NixOS arm64 query, newest first", async () => {
        recorder.calls.length = 0;
        expect(await settle(hostAmi(undefined))).toBe("ami-0placeholder00000");
        const [call] = callsOf("aws:ec2/getAmi:getAmi");
        expect(call.args).toEqual(expect.objectContaining(nixosAmiLookup()));
        expect(call.args.owners).toEqual(["427812963091"]);
    });

    test("a pinned arm64 AMI is looked up by id and used as is", async () => {
        recorder.calls.length = 0;
        expect(await settle(hostAmi("ami-0123456789abcdef0"))).toBe("ami-0123456789abcdef0");
        expect(callsOf("aws:ec2/getAmi:getAmi")[0].args).toEqual(
            expect.objectContaining({ filters: [{ name: "image-id", values: ["ami-0123456789abcdef0"] }] }),
        );
    });

    test("the zone: offerings of the instance type per availability zone", async () => {
        recorder.calls.length = 0;
        expect(await settle(hostAvailabilityZone("a1.metal", undefined))).toBe("us-east-1a");
        expect(callsOf("aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings")[0].args).toEqual(
            expect.objectContaining({
                locationType: "availability-zone",
                filters: [{ name: "instance-type", values: ["a1.metal"] }],
            }),
        );
    });

    test("the state volume: read back by its own id (the shrink check), before its device path is known", async () => {
        recorder.calls.length = 0;
        const v = new StateVolume("lookup", {
            availabilityZone: "us-east-1a",
            sizeGiB: 256,
            volumeType: "gp3",
            instanceId: "i-0123456789abcdef0",
            tags: {},
        });
        const [id, device] = await Promise.all([settle(v.volumeId), settle(v.devicePath)]);
        const [call] = callsOf("aws:ebs/getVolume:getVolume");
        expect(call.args).toEqual(expect.objectContaining({ filters: [{ name: "volume-id", values: [id] }] }));
        expect(device).toBe(`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${id.replace("-", "")}`);
    });
});
