/**
 * The AWS layer of the whole program, planned under the mock runtime like `npm run plan`: the
 * invariants a reviewer relies on, read from the declared resources' inputs and options, and what
 * config changes do to them (`--against`).
 */
import { policyProblems, PolicyDocument, stateVolumeTagKey } from "../../components/aws/policies";
import { PlannedResource } from "../../tools/plan/mockRuntime";
import { changedPaths, diffPlans } from "../../tools/plan/diff";
import { previewIgnoredInputs } from "../../components/deploy/reachable";
import { replaceOnChange } from "../../lib/constraints";
import { Plan } from "../../tools/plan/run";
import { byType, examplePlan, exampleStack, one, planDoc, planEdit, StackDoc } from "../helpers/stacks";

const A = {
    instance: "aws:ec2/instance:Instance",
    volume: "aws:ebs/volume:Volume",
    attachment: "aws:ec2/volumeAttachment:VolumeAttachment",
    subnet: "aws:ec2/subnet:Subnet",
    group: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    attachmentPolicy: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    hostKey: "tls:index/privateKey:PrivateKey",
    eip: "aws:ec2/eip:Eip",
    keyPair: "aws:ec2/keyPair:KeyPair",
};

const host = (doc: StackDoc) => doc.config["microvm-infra:host"];
const instance = (plan: Plan) => one(plan, A.instance);
const inputs = (r: PlannedResource) => r.inputs as Record<string, any>;
const sshIngress = (plan: Plan) =>
    byType(plan, A.ingress).filter((r) => {
        const i = inputs(r);
        return i.ipProtocol === "-1" || (i.ipProtocol === "tcp" && i.fromPort <= 22 && 22 <= i.toPort);
    });
const urnOf = (plan: Plan, type: string) => one(plan, type).urn;

function tailscaleOnly(doc: StackDoc): void {
    host(doc).adminCidrs = [];
    host(doc).connectVia = "tailscale";
}

describe("AWS resources of the example stack", () => {
    let plan: Plan;
    beforeAll(async () => {
        plan = await examplePlan();
    });

    test("IMDSv2 only, with a hop limit of 1", () => {
        expect(inputs(instance(plan)).metadataOptions).toEqual(
            expect.objectContaining({
                httpEndpoint: "enabled",
                httpTokens: "required",
                httpPutResponseHopLimit: 1,
            }),
        );
    });

    test("every volume is encrypted: the gp3 root and the state volume, and no other", () => {
        const i = inputs(instance(plan));
        expect(i.rootBlockDevice).toEqual(
            expect.objectContaining({ encrypted: true, volumeType: "gp3", volumeSize: 64 }),
        );
        expect(i.ebsBlockDevices ?? []).toEqual([]);
        const volumes = byType(plan, A.volume);
        expect(volumes).toHaveLength(1);
        expect(volumes.every((v) => inputs(v).encrypted === true)).toBe(true);
    });

    test("SSH reachable only from adminCidrs, nothing in the group itself", () => {
        expect(sshIngress(plan).map((r) => inputs(r).cidrIpv4 ?? inputs(r).cidrIpv6)).toEqual(["203.0.113.0/24"]);
        const group = inputs(one(plan, A.group));
        expect(group.ingress).toBeUndefined();
        expect(group.egress).toBeUndefined();
    });

    test("the host's role can be assumed by EC2 only, and its policies keep the rules", () => {
        const trust = JSON.parse(inputs(one(plan, A.role)).assumeRolePolicy);
        expect(trust.Statement.map((s: any) => [s.Effect, s.Action, s.Principal])).toEqual([
            ["Allow", "sts:AssumeRole", { Service: "ec2.amazonaws.com" }],
        ]);
        const policies = byType(plan, A.rolePolicy).map((r) => JSON.parse(inputs(r).policy) as PolicyDocument);
        expect(policies).toHaveLength(2);
        for (const doc of policies) {
            expect(policyProblems(doc)).toEqual([]);
        }
        expect(byType(plan, A.attachmentPolicy)).toEqual([]);
    });

    test("the snapshot policy and the state volume share the stack's tag", () => {
        const snapshots = JSON.parse(
            inputs(one(plan, A.rolePolicy, "microvm-state-snapshots")).policy,
        ) as PolicyDocument;
        const conditionValues = snapshots.Statement.flatMap((s) => Object.entries(s.Condition?.StringEquals ?? {}))
            .filter(([k]) => k.endsWith(`/${stateVolumeTagKey}`))
            .map(([, v]) => v);
        expect(conditionValues.length).toBe(3);
        expect(new Set(conditionValues)).toEqual(new Set(["microvm-infra/dev"]));
        expect(inputs(one(plan, A.volume)).tags[stateVolumeTagKey]).toBe("microvm-infra/dev");
    });

    test("the state volume is protected, retained on delete, in the zone the host's subnet is in", () => {
        const volume = one(plan, A.volume);
        expect(volume.options).toEqual(expect.objectContaining({ protect: true, retainOnDelete: true }));
        expect(volume.propertyDependencies.availabilityZone).toEqual(expect.arrayContaining([urnOf(plan, A.subnet)]));
        expect(inputs(volume).availabilityZone).toBe(inputs(one(plan, A.subnet)).availabilityZone);
        expect(inputs(volume).availabilityZone).toBe("us-east-1a");
    });

    test("once created, the zone stays put: the subnet ignores a new choice, the instance follows its subnet", () => {
        expect(one(plan, A.subnet).options.ignoreChanges).toEqual(["availabilityZone"]);
        expect(inputs(instance(plan))).not.toHaveProperty("availabilityZone");
    });

    test("the attachment joins that volume to the host, detaching first on replacement", () => {
        const attachment = one(plan, A.attachment);
        expect(attachment.options.deleteBeforeReplace).toBe(true);
        expect(attachment.propertyDependencies.volumeId).toEqual([urnOf(plan, A.volume)]);
        expect(attachment.propertyDependencies.instanceId).toEqual([urnOf(plan, A.instance)]);
        expect(inputs(attachment).stopInstanceBeforeDetaching).toBe(true);
    });

    test("the infra.json device is the attached volume's by-id path", () => {
        expect(JSON.parse(plan.files["nixos/infra.json"]).storage.device).toBe(
            "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0placeholder000000",
        );
    });

    test("the host key: ED25519, private outputs secret, in user data only as a secret", () => {
        const key = one(plan, A.hostKey);
        expect(inputs(key).algorithm).toBe("ED25519");
        expect(key.options.additionalSecretOutputs).toEqual(
            expect.arrayContaining(["privateKeyOpenssh", "privateKeyPem"]),
        );
        const host = instance(plan);
        expect(host.secretInputs).toContain("userData");
        expect(host.options.additionalSecretOutputs).toContain("userData");
        expect(JSON.stringify(plan)).not.toMatch(/SSH_HOST_ED25519_KEY|placeholder: host private key/);
    });

    test("every SSH connection Pulumi makes pins the key the host serves, reported by the wait for the host (not user data's)", () => {
        const commands = plan.resources.filter((r) => r.type.startsWith("command:remote:"));
        const ready = one(plan, "command:local:Command", "microvm-ssh-ready");
        expect(commands.length).toBeGreaterThan(0);
        for (const c of commands) {
            expect({ name: c.name, deps: c.propertyDependencies.connection }).toEqual({
                name: c.name,
                deps: expect.arrayContaining([ready.urn]),
            });
            expect({ name: c.name, deps: c.propertyDependencies.connection }).not.toEqual({
                name: c.name,
                deps: expect.arrayContaining([urnOf(plan, A.hostKey)]),
            });
        }
        // The bootstrap key (user data's) goes only to that wait, which meets a new machine with it.
        expect(ready.propertyDependencies.create).toEqual(expect.arrayContaining([urnOf(plan, A.hostKey)]));
    });

    test("the state volume is attached only once the host has been reached: a replaced host keeps its VMs until then", () => {
        const ready = one(plan, "command:local:Command", "microvm-ssh-ready");
        expect(one(plan, A.attachment).options.dependsOn).toEqual(expect.arrayContaining([ready.urn]));
    });

    test("the newest NixOS AMI never replaces a running host: ami, user data and key pair changes are ignored", () => {
        const host = instance(plan);
        expect([...host.options.ignoreChanges].sort()).toEqual(["ami", "keyName", "userData"]);
        // A new type is applied in place (stop, modify, start), not by a replacement the program asks for.
        expect(host.options.replaceOnChanges).toEqual([]);
        expect(inputs(host).userDataReplaceOnChange).toBe(false);
    });

    test("key pairs are never deleted: a replacement instance is created with the key name its host was first created with", () => {
        // The instance ignores keyName, and the engine gives a replacement the ignored old value
        // (pulumi/pulumi step_generator.go: lib/constraints/facts.ts ignoreChangesSurviveReplacement).
        expect(instance(plan).options.ignoreChanges).toContain("keyName");
        expect(one(plan, A.keyPair).options.retainOnDelete).toBe(true);
    });

    test("the key pair carries the first operator key; an Elastic IP gives the stable address", () => {
        expect(inputs(one(plan, A.keyPair)).publicKey).toBe(host(exampleStack()).sshPublicKeys[0]);
        expect(inputs(one(plan, A.eip)).domain).toBe("vpc");
        // Not set: it forces a replacement and reads back true once the EIP is associated (lib/constraints/aws.ts).
        expect(inputs(instance(plan))).not.toHaveProperty("associatePublicIpAddress");
        expect(inputs(one(plan, A.subnet)).mapPublicIpOnLaunch).toBe(false);
    });

    test("every resource type declared under the AWS components has a replace-on-change entry", () => {
        const aws = plan.resources.filter((r) => r.custom && /microvm-infra:aws:/.test(r.parent));
        expect(aws.length).toBeGreaterThan(15);
        expect(aws.map((r) => r.type).filter((t) => !(t in replaceOnChange))).toEqual([]);
    });
});

describe("AWS config variants", () => {
    test("no adminCidrs: no SSH rule at all", async () => {
        const doc = exampleStack();
        tailscaleOnly(doc);
        expect(sshIngress(await planDoc(doc))).toEqual([]);
    });

    test("SSH open to the world only because the user listed 0.0.0.0/0 and opted in", async () => {
        const doc = exampleStack();
        host(doc).adminCidrs = ["0.0.0.0/0"];
        host(doc).allowSshFromAnywhere = true;
        expect(sshIngress(await planDoc(doc)).map((r) => inputs(r).cidrIpv4)).toEqual(["0.0.0.0/0"]);
    });

    test("backend files declares no state volume", async () => {
        const doc = exampleStack();
        doc.config["microvm-infra:storage"] = { backend: "files" };
        delete doc.config["microvm-infra:states"];
        const plan = await planDoc(doc);
        expect(byType(plan, A.volume)).toEqual([]);
        expect(byType(plan, A.attachment)).toEqual([]);
        expect(JSON.parse(plan.files["nixos/infra.json"]).storage.device).toBeNull();
    });

    test("a pinned AMI is used as is and a change of pin is no longer ignored", async () => {
        const doc = exampleStack();
        host(doc).ami = "ami-0123456789abcdef0";
        const plan = await planDoc(doc);
        expect(inputs(instance(plan)).ami).toBe("ami-0123456789abcdef0");
        expect(instance(plan).options.ignoreChanges).toEqual(["userData", "keyName"]);
    });
});

describe("what config changes do to the host and its volume", () => {
    const replaced = (d: { replace: { urn: string }[] }, plan: Plan, type: string) =>
        d.replace.some((c) => c.urn === urnOf(plan, type));

    test("a new instanceType stops, changes and starts the same instance: nothing replaced, the wait for the host runs again", async () => {
        const { before, after, diff } = await planEdit((doc) => {
            host(doc).instanceType = "m7g.metal";
        });
        expect(diff.replace).toEqual([]);
        expect(diff.delete).toEqual([]);
        expect(diff.update.find((c) => c.urn === urnOf(after, A.instance))?.paths).toEqual(["instanceType"]);
        // The same machine, restarted: its wait's script names the new type, so `pulumi up` runs its
        // update (waiting for SSH again, pinned to the key the host serves). A preview ignores the
        // script (an updated command's stdout, the pin, would be unknown there and show every remote
        // command as run again), so the offline plan, a preview, shows it unchanged.
        const wait = (p: Plan) => one(p, "command:local:Command", "microvm-ssh-ready");
        expect(changedPaths(wait(before).inputs, wait(after).inputs)).toEqual(["create", "update"]);
        expect(wait(after).options.ignoreChanges).toEqual([...previewIgnoredInputs]);
        expect(diff.unchanged).toContain(wait(after).urn);
        for (const kept of [A.volume, A.attachment, A.hostKey, A.eip, A.keyPair]) {
            expect({ kept, unchanged: diff.unchanged.includes(urnOf(after, kept)) }).toEqual({ kept, unchanged: true });
        }
        // No remote command runs: the host keeps its system, states and slot map.
        expect(diff.update.filter((c) => c.type === "command:remote:Command")).toEqual([]);
    });

    test("a replaced instance (a new AMI pin) re-attaches the same volume, keeps the bootstrap key and address", async () => {
        const { after, diff } = await planEdit((doc) => {
            host(doc).ami = "ami-0123456789abcdef0";
        });
        expect(diff.replace.find((c) => c.urn === urnOf(after, A.instance))?.replaceBecause).toEqual(["ami"]);
        const attachment = diff.replace.find((c) => c.urn === urnOf(after, A.attachment));
        expect(attachment).toEqual(
            expect.objectContaining({ replaceBecause: ["instanceId"], deleteBeforeReplace: true }),
        );
        for (const kept of [A.volume, A.hostKey, A.eip, A.keyPair]) {
            expect({ kept, unchanged: diff.unchanged.includes(urnOf(after, kept)) }).toEqual({ kept, unchanged: true });
        }
        expect(diff.delete).toEqual([]);
    });

    test("pinning an AMI replaces the host but not the volume; re-pinning replaces it again", async () => {
        const pin = (ami: string) => (doc: StackDoc) => {
            host(doc).ami = ami;
        };
        const first = await planEdit(pin("ami-0123456789abcdef0"));
        expect(replaced(first.diff, first.after, A.instance)).toBe(true);
        expect(first.diff.unchanged).toContain(urnOf(first.after, A.volume));

        const doc = exampleStack();
        pin("ami-0fedcba9876543210")(doc);
        const next = await planDoc(doc);
        const diff = diffPlans(first.after.resources, next.resources);
        expect(diff.replace.find((c) => c.urn === urnOf(next, A.instance))?.replaceBecause).toEqual(["ami"]);
        expect(diff.unchanged).toContain(urnOf(next, A.volume));
    });

    test("a new operator key, even first in the list, never replaces the host: only the key pair and the deployment", async () => {
        const newKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB new@example";
        const { after, diff } = await planEdit((doc) => {
            host(doc).sshPublicKeys = [newKey, ...host(doc).sshPublicKeys];
        });
        expect(replaced(diff, after, A.instance)).toBe(false);
        expect(diff.unchanged).toEqual(
            expect.arrayContaining([
                urnOf(after, A.instance),
                urnOf(after, A.volume),
                urnOf(after, A.attachment),
                urnOf(after, A.eip),
            ]),
        );
        expect(diff.replace.map((c) => c.urn.split("::").pop()).sort()).toEqual([
            "microvm-admin",
            "microvm-bundle",
            "microvm-switch",
        ]);
        expect(JSON.parse(after.files["nixos/infra.json"]).host.sshPublicKeys[0]).toBe(newKey);
        expect(diff.delete).toEqual([]);
    });

    test("destroying the stack would not delete the state volume", async () => {
        const before = await examplePlan();
        const diff = diffPlans(before.resources, []);
        const volume = diff.delete.find((c) => c.type === A.volume);
        expect(volume?.note).toMatch(/^protected/);
    });
});
