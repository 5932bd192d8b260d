/**
 * The AWS layer's pure rules: the security group, the IAM documents, the zone choice, the AMI
 * query and the pinned-AMI check, the network CIDRs, the state volume's size.
 */
import fc from "fast-check";
import { readFileSync } from "fs";
import { chooseAvailabilityZone, existingZoneProblem } from "../../components/aws/availabilityZone";
import { ec2DescriptionCharacters } from "../../lib/constraints/aws";
import { canonicalCidr } from "../../lib/constraints/check";
import { repoPath } from "../helpers/paths";
import { hostSecurityRules, SecurityRule, sshPort, tailscaleUdpPort } from "../../components/aws/firewall";
import { networkCidrProblems } from "../../components/aws/network";
import {
    hostArchitecture,
    nixosAmiLookup,
    nixosAmiOwner,
    nixosRelease,
    pinnedAmiProblem,
} from "../../components/aws/nixosAmi";
import {
    backupSnapshotPolicy,
    backupTagKey,
    ec2AssumeRolePolicy,
    isMutatingEc2Action,
    policyProblems,
    PolicyDocument,
    ssmCorePolicy,
    stateSnapshotPolicy,
    stateVolumeTagKey,
} from "../../components/aws/policies";
import { lifecyclePolicyArgs } from "../../components/aws/backups";
import { volumeShrinkProblem } from "../../components/aws/stateVolume";
import { dlmNameCharacters } from "../../lib/constraints/aws";
import { allows } from "../helpers/iam";

const opensPort = (r: SecurityRule, port: number) =>
    r.ipProtocol === "-1" || (r.fromPort! <= port && port <= r.toPort!);
const sshRules = (rules: SecurityRule[]) =>
    rules.filter((r) => r.direction === "ingress" && r.ipProtocol !== "udp" && opensPort(r, sshPort));
const world = ["0.0.0.0/0", "::/0"];

describe("hostSecurityRules", () => {
    test("no adminCidrs: nothing reaches SSH", () => {
        expect(sshRules(hostSecurityRules([]))).toEqual([]);
    });

    test("SSH only from the listed CIDRs, IPv4 and IPv6 in their own fields", () => {
        const rules = sshRules(hostSecurityRules(["203.0.113.7/32", "2001:db8::/48"]));
        expect(rules.map((r) => [r.cidrIpv4, r.cidrIpv6])).toEqual([
            ["203.0.113.7/32", undefined],
            [undefined, "2001:db8::/48"],
        ]);
        expect(rules.every((r) => r.ipProtocol === "tcp" && r.fromPort === 22 && r.toPort === 22)).toBe(true);
    });

    test("no rule but the user's own opens SSH to the world", () => {
        for (const admin of [[], ["198.51.100.0/24"]]) {
            const open = sshRules(hostSecurityRules(admin)).filter((r) =>
                world.includes(r.cidrIpv4 ?? r.cidrIpv6 ?? ""),
            );
            expect(open).toEqual([]);
        }
        const listed = sshRules(hostSecurityRules(["0.0.0.0/0"]));
        expect(listed.map((r) => r.cidrIpv4)).toEqual(["0.0.0.0/0"]);
    });

    test("Tailscale's UDP port is open for direct connections, and all egress", () => {
        const rules = hostSecurityRules([]);
        expect(rules.filter((r) => r.direction === "ingress")).toEqual([
            expect.objectContaining({
                ipProtocol: "udp",
                fromPort: tailscaleUdpPort,
                toPort: tailscaleUdpPort,
                cidrIpv4: "0.0.0.0/0",
            }),
        ]);
        expect(rules.filter((r) => r.direction === "egress")).toEqual([
            expect.objectContaining({ ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" }),
        ]);
    });

    test("without Tailscale no UDP port is open: SSH from adminCidrs is the only way in", () => {
        const ingress = hostSecurityRules(["203.0.113.7/32"], false).filter((r) => r.direction === "ingress");
        expect(ingress).toEqual([
            expect.objectContaining({ ipProtocol: "tcp", fromPort: sshPort, cidrIpv4: "203.0.113.7/32" }),
        ]);
    });

    test("rule keys come from the content, are unique and survive reordering", () => {
        const a = hostSecurityRules(["203.0.113.7/32", "198.51.100.0/24"]).map((r) => r.key);
        const b = hostSecurityRules(["198.51.100.0/24", "203.0.113.7/32"]).map((r) => r.key);
        expect(new Set(a).size).toBe(a.length);
        expect([...a].sort()).toEqual([...b].sort());
        expect(a).toContain("ssh-203-0-113-7-32");
    });

    test("every rule's description is in EC2's character set and its CIDR in the form EC2 reads back", () => {
        const slot = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
        const v4 = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, p]) => canonicalCidr(`${ip}/${p}`)!);
        const v6 = fc
            .tuple(
                fc.ipV6().filter((ip) => !ip.includes(".")),
                fc.integer({ min: 0, max: 128 }),
            )
            .map(([ip, p]) => canonicalCidr(`${ip}/${p}`)!.toUpperCase());
        fc.assert(
            fc.property(
                fc.array(fc.oneof(v4, v6), { maxLength: 3 }),
                slot,
                fc.integer({ min: 23, max: 19999 }),
                fc.array(v4, { minLength: 1, maxLength: 3 }),
                fc.boolean(),
                (admins, s, port, sources, fleet) => {
                    for (const r of hostSecurityRules(admins, true, [{ slot: s, hostPort: port, sources }], fleet)) {
                        expect(r.description).toMatch(ec2DescriptionCharacters);
                        expect(r.description.length).toBeLessThanOrEqual(255);
                        const cidr = r.cidrIpv4 ?? r.cidrIpv6;
                        if (cidr !== undefined) {
                            expect(cidr).toBe(canonicalCidr(cidr));
                        }
                    }
                },
            ),
        );
    });

    test("an upper-case or uncompressed IPv6 CIDR is sent as EC2 stores it", () => {
        const [rule] = sshRules(hostSecurityRules(["2001:DB8:0:0::/48"]));
        expect(rule.cidrIpv6).toBe("2001:db8::/48");
    });

    test.each(["203.0.113.7", "0.0.0.0/33", "example.com/32", ""])(
        "rejects adminCidr %p, naming the argument",
        (bad) => {
            expect(() => hostSecurityRules(["203.0.113.7/32", bad])).toThrow(
                `adminCidrs[1] must be an IPv4 or IPv6 CIDR such as 203.0.113.7/32, got "${bad}"`,
            );
        },
    );

    test.each([
        ["203.0.113.7/24", "203.0.113.0/24"],
        ["2001:db8::1/64", "2001:db8::/64"],
    ])("names host bits in %s, IPv4 and IPv6 alike", (bad, network) => {
        expect(() => hostSecurityRules([bad])).toThrow(
            `adminCidrs[0] "${bad}" has host bits set: the network is ${network}`,
        );
    });
});

describe("IAM documents", () => {
    const scope = { partition: "aws", region: "us-east-1", accountId: "123456789012" };
    const snapshot = stateSnapshotPolicy(scope, "microvm-infra/dev");

    test("trust policy: only EC2 may assume the role", () => {
        const doc = ec2AssumeRolePolicy();
        expect(doc.Statement).toEqual([
            expect.objectContaining({
                Effect: "Allow",
                Action: "sts:AssumeRole",
                Principal: { Service: "ec2.amazonaws.com" },
            }),
        ]);
    });

    test.each([
        ["ssm", ssmCorePolicy()],
        ["snapshots", snapshot],
    ])("%s policy keeps the rules", (_n, doc) => {
        expect(policyProblems(doc as PolicyDocument)).toEqual([]);
    });

    test("Allow with NotAction is refused: it grants everything but the listed actions", () => {
        const doc: PolicyDocument = {
            Version: "2012-10-17",
            Statement: [{ Sid: "Broad", Effect: "Allow", NotAction: ["iam:*"], Resource: "*" }],
        };
        expect(policyProblems(doc)).toEqual([
            "Broad: Allow with NotAction grants every action but the listed ones; list the actions instead",
        ]);
    });

    test("every mutating EC2 action allowed is scoped by a tag or create-action condition", () => {
        const mutating = snapshot.Statement.filter(
            (s) => s.Effect === "Allow" && [s.Action ?? []].flat().some((a) => isMutatingEc2Action(a)),
        );
        expect(mutating.map((s) => s.Sid)).toHaveLength(4);
        for (const s of mutating) {
            expect(s.Resource).not.toBe("*");
            expect(s.Condition).toBeDefined();
        }
        const tagConditions = mutating.flatMap((s) => Object.entries(s.Condition!.StringEquals ?? {}));
        expect(tagConditions).toEqual(
            expect.arrayContaining([
                [`aws:ResourceTag/${stateVolumeTagKey}`, "microvm-infra/dev"],
                [`aws:RequestTag/${stateVolumeTagKey}`, "microvm-infra/dev"],
                ["ec2:CreateAction", "CreateSnapshot"],
            ]),
        );
    });

    test("ARNs are scoped to the stack's partition, region and account", () => {
        const resources = snapshot.Statement.flatMap((s) => [s.Resource ?? []].flat()).filter((r) => r !== "*");
        expect(resources.sort()).toEqual([
            "arn:aws:ec2:us-east-1:123456789012:volume/*",
            ...Array(5).fill("arn:aws:ec2:us-east-1::snapshot/*"),
        ]);
    });

    test("the only Resource * statements are read-only or non-EC2 agent channels", () => {
        const wide = [...ssmCorePolicy().Statement, ...snapshot.Statement].filter((s) => s.Resource === "*");
        const actions = wide.flatMap((s) => [s.Action ?? []].flat());
        expect(actions.filter(isMutatingEc2Action)).toEqual([]);
        expect(
            actions.every((a) => /^(ssm:UpdateInstanceInformation|ssmmessages:|ec2messages:|ec2:Describe)/.test(a)),
        ).toBe(true);
    });

    test("policyProblems catches what the rules forbid", () => {
        const bad: PolicyDocument = {
            Version: "2012-10-17",
            Statement: [
                { Sid: "All", Effect: "Allow", Action: "*", Resource: "*" },
                { Sid: "AllEc2", Effect: "Allow", Action: ["ec2:*"], Resource: "arn:aws:ec2:*:*:volume/*" },
                { Sid: "Wide", Effect: "Allow", Action: ["ec2:DeleteSnapshot"], Resource: "*" },
                { Sid: "", Effect: "Allow", Action: ["ec2:DescribeVolumes"], Resource: "*" },
            ],
        };
        expect(policyProblems(bad)).toEqual([
            'All: action "*" grants every action',
            'AllEc2: action "ec2:*" grants every action',
            'Wide: mutating action "ec2:DeleteSnapshot" on Resource "*" without a condition',
            "statement 3 has no Sid saying what it is for",
        ]);
    });

    test.each([
        ["ec2:CreateSnapshot", true],
        ["ec2:DescribeSnapshots", false],
        ["EC2:TerminateInstances", true],
        ["ssm:UpdateInstanceInformation", false],
    ])("isMutatingEc2Action(%p) is %p", (action, mutating) => {
        expect(isMutatingEc2Action(action as string)).toBe(mutating);
    });
});

describe("backups: their own tag, which the hosts can neither delete nor forge", () => {
    const scope = { partition: "aws", region: "us-east-1", accountId: "123456789012" };
    const host = stateSnapshotPolicy(scope, "microvm-infra/dev");
    const dlm = backupSnapshotPolicy(scope, "microvm-infra/dev");
    const snapshot = "arn:aws:ec2:us-east-1::snapshot/snap-0123456789abcdef0";
    const volume = "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0";
    /** The condition key of a tag the resource has (`ResourceTag`) or that the request sets (`RequestTag`), for a stack. */
    const tag = (kind: "ResourceTag" | "RequestTag", key: string, stack = "dev") => ({
        [`aws:${kind}/${key}`]: `microvm-infra/${stack}`,
    });
    const state = tag("ResourceTag", stateVolumeTagKey);
    const backup = tag("ResourceTag", backupTagKey);
    /** Whether POLICY allows ACTION on RESOURCE in a request with those condition keys. */
    const may = (policy: PolicyDocument, action: string, resource: string, context: Record<string, string>) =>
        allows(policy, { action, resource, context });

    test("the DLM schedule tags each backup with the backup tag and copies no tag of the volume", () => {
        const details = lifecyclePolicyArgs(24, 7, "microvm-infra/dev").policyDetails;
        expect(details.targetTags).toEqual({ [stateVolumeTagKey]: "microvm-infra/dev" });
        expect(details.schedules).toEqual([
            expect.objectContaining({ copyTags: false, tagsToAdd: { [backupTagKey]: "microvm-infra/dev" } }),
        ]);
    });

    test("the host may prune its own snapshots but never delete a backup, of its stack or another's", () => {
        expect(may(host, "ec2:DeleteSnapshot", snapshot, state)).toBe(true);
        expect(may(host, "ec2:DeleteSnapshot", snapshot, { ...state, ...backup })).toBe(false);
        expect(may(host, "ec2:DeleteSnapshot", snapshot, backup)).toBe(false);
        expect(may(host, "ec2:DeleteSnapshot", snapshot, tag("ResourceTag", backupTagKey, "other"))).toBe(false);
    });

    test("the host cannot make a snapshot that looks like a backup, nor tag one so later", () => {
        const creating = { ...tag("RequestTag", stateVolumeTagKey), "ec2:CreateAction": "CreateSnapshot" };
        const asBackup = tag("RequestTag", backupTagKey);
        expect(may(host, "ec2:CreateSnapshot", snapshot, creating)).toBe(true);
        expect(may(host, "ec2:CreateSnapshot", snapshot, { ...creating, ...asBackup })).toBe(false);
        expect(may(host, "ec2:CreateTags", snapshot, { ...creating, ...asBackup })).toBe(false);
        expect(may(host, "ec2:CreateTags", snapshot, asBackup)).toBe(false);
    });

    test("DLM snapshots only this stack's state volumes, into snapshots carrying the backup tag, and prunes only those", () => {
        const request = tag("RequestTag", backupTagKey);
        expect(may(dlm, "ec2:CreateSnapshot", volume, state)).toBe(true);
        expect(may(dlm, "ec2:CreateSnapshot", volume, tag("ResourceTag", stateVolumeTagKey, "other"))).toBe(false);
        expect(may(dlm, "ec2:CreateSnapshot", snapshot, request)).toBe(true);
        expect(may(dlm, "ec2:CreateSnapshot", snapshot, tag("RequestTag", stateVolumeTagKey))).toBe(false);
        expect(may(dlm, "ec2:DeleteSnapshot", snapshot, backup)).toBe(true);
        expect(may(dlm, "ec2:DeleteSnapshot", snapshot, state)).toBe(false);
        expect(policyProblems(dlm)).toEqual([]);
    });

    test("the policy's description and schedule name keep DLM's pattern, whatever the stack is called", () => {
        fc.assert(
            fc.property(
                fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/),
                fc.constantFrom(1, 2, 3, 4, 6, 8, 12, 24),
                fc.integer({ min: 1, max: 1000 }),
                (stack, every, keep) => {
                    const args = lifecyclePolicyArgs(every, keep, `microvm-infra/${stack}`);
                    expect(args.description).toMatch(dlmNameCharacters);
                    expect(args.description.length).toBeLessThanOrEqual(500);
                    for (const schedule of args.policyDetails.schedules) {
                        expect(schedule.name).toMatch(dlmNameCharacters);
                        expect(schedule.name.length).toBeLessThanOrEqual(120);
                    }
                },
            ),
        );
    });
});

describe("chooseAvailabilityZone", () => {
    const offered = ["us-east-1c", "us-east-1a", "us-east-1b"];

    test("unset: the first zone in sorted order", () => {
        expect(chooseAvailabilityZone("a1.metal", undefined, offered, "us-east-1")).toBe("us-east-1a");
    });

    test("a configured zone that offers the type is kept", () => {
        expect(chooseAvailabilityZone("a1.metal", "us-east-1c", offered, "us-east-1")).toBe("us-east-1c");
    });

    test("a configured zone that does not: the error names the key and the zones that would do", () => {
        expect(() => chooseAvailabilityZone("a1.metal", "us-east-1d", offered, "us-east-1")).toThrow(
            'host.availabilityZone "us-east-1d" does not offer a1.metal in us-east-1; use one of us-east-1a, us-east-1b, us-east-1c, or unset it to take the first',
        );
    });

    test("no zone offers the type: the error names host.instanceType", () => {
        expect(() => chooseAvailabilityZone("a1.metal", undefined, [], "eu-south-2")).toThrow(
            'host.instanceType "a1.metal" is not offered in any availability zone of eu-south-2',
        );
    });

    test("in a fleet the error names the host's own keys", () => {
        expect(() => chooseAvailabilityZone("m7g.metal", "us-east-1d", offered, "us-east-1", "hosts.big")).toThrow(
            'hosts.big.availabilityZone "us-east-1d" does not offer m7g.metal in us-east-1; use one of',
        );
    });
});

describe("existingZoneProblem: a created host stays in its zone", () => {
    test("the zone AWS now lists first does not matter: the host's zone is its subnet's", () => {
        expect(existingZoneProblem("a1.metal", undefined, ["us-east-1a", "us-east-1b"], "us-east-1b")).toBeUndefined();
    });

    test("asking for another zone is an error naming the key and the zone to put back", () => {
        expect(existingZoneProblem("a1.metal", "us-east-1c", ["us-east-1a", "us-east-1c"], "us-east-1a")).toBe(
            'host.availabilityZone is "us-east-1c", but this host was created in us-east-1a and stays there (its subnet and state volume cannot move); ' +
                "set host.availabilityZone back to us-east-1a or unset it. To move a host to another zone, restore it there from a snapshot (docs/operations.md)",
        );
    });

    test("a type not offered where the host is: an error naming the type key of that host", () => {
        expect(existingZoneProblem("m8g.metal-24xl", undefined, ["us-east-1b"], "us-east-1a", "hosts.big")).toMatch(
            /^hosts\.big\.instanceType "m8g\.metal-24xl" is not offered in us-east-1a, the zone this host was created in and stays in; choose a type offered there/,
        );
    });
});

describe("NixOS AMI", () => {
    test("the lookup: official owner, the flake's release, aarch64 name, arm64, newest first", () => {
        const q = nixosAmiLookup();
        expect(q.owners).toEqual([nixosAmiOwner]);
        expect(nixosAmiOwner).toBe("427812963091");
        expect(q.mostRecent).toBe(true);
        expect(q.filters).toEqual(
            expect.arrayContaining([
                { name: "name", values: [`nixos/${nixosRelease}*-aarch64-linux`] },
                { name: "architecture", values: ["arm64"] },
                { name: "state", values: ["available"] },
            ]),
        );
    });

    test("the release matches the nixpkgs branch the flake pins", () => {
        const flake = readFileSync(repoPath("nixos/flake.nix"), "utf8");
        expect(flake).toContain(`nixos-${nixosRelease}`);
    });

    test("a pinned arm64 AMI is fine; any other architecture is a clear error", () => {
        expect(
            pinnedAmiProblem("ami-0123456789abcdef0", hostArchitecture, "nixos/26.05.1-aarch64-linux"),
        ).toBeUndefined();
        expect(pinnedAmiProblem("ami-0123456789abcdef0", "x86_64", "nixos/26.05.1-x86_64-linux")).toBe(
            'host.ami "ami-0123456789abcdef0" (nixos/26.05.1-x86_64-linux) is built for x86_64, but a Graviton host needs an arm64 image; pin an aarch64-linux NixOS AMI or unset host.ami to use the newest official one',
        );
    });
});

describe("networkCidrProblems", () => {
    test("the defaults are fine", () => {
        expect(networkCidrProblems("172.20.0.0/16", "172.20.1.0/24")).toEqual([]);
    });

    test.each([
        [
            "10.0.0.0/16",
            "10.0.1.0/24",
            "vpcCidr",
            'must not overlap 10.0.0.0/8, where the slots\' 10.N.0.0/24 subnets live, got "10.0.0.0/16"',
        ],
        [
            "100.64.0.0/16",
            "100.64.1.0/24",
            "vpcCidr",
            'must not overlap 100.64.0.0/10, Tailscale\'s address range (CGNAT), where tailnet devices live, got "100.64.0.0/16"',
        ],
        [
            "172.16.0.0/12",
            "172.16.1.0/24",
            "vpcCidr",
            'must have a prefix from /16 to /28 (AWS\'s VPC sizes), got "172.16.0.0/12"',
        ],
        [
            "172.20.0.1/16",
            "172.20.1.0/24",
            "vpcCidr",
            '"172.20.0.1/16" has host bits set: the network is 172.20.0.0/16 (or write 172.20.0.1/32 for that one address)',
        ],
        [
            "172.20.0.0/16",
            "172.21.1.0/24",
            "subnetCidr",
            'must lie inside vpcCidr (172.20.0.0/16), got "172.21.1.0/24"',
        ],
        ["172.20.0.0/16", "fd00::/64", "subnetCidr", 'must be an IPv4 CIDR such as 203.0.113.7/32, got "fd00::/64"'],
        [
            "172.20.0.0/16",
            "172.20.1.0/29",
            "subnetCidr",
            'must have a prefix from /16 to /28 (AWS\'s subnet sizes: at least 16 addresses, of which AWS keeps 5), got "172.20.1.0/29"',
        ],
        [
            "172.20.0.0/16",
            "172.16.0.0/15",
            "subnetCidr",
            'must have a prefix from /16 to /28 (AWS\'s subnet sizes: at least 16 addresses, of which AWS keeps 5), got "172.16.0.0/15"',
        ],
    ])("vpc %s, subnet %s", (vpc, subnet, arg, message) => {
        expect(networkCidrProblems(vpc, subnet)).toEqual([{ arg, message }]);
    });
});

describe("volumeShrinkProblem: the state volume only grows", () => {
    test("the same size, a bigger one, or no volume yet (a create, or offline) is fine", () => {
        expect(volumeShrinkProblem(256, 256, "storage.volumeGiB")).toBeUndefined();
        expect(volumeShrinkProblem(512, 256, "storage.volumeGiB")).toBeUndefined();
        expect(volumeShrinkProblem(8, undefined, "storage.volumeGiB")).toBeUndefined();
    });

    test("a smaller size is an error naming the key, the volume's size and AWS's rule", () => {
        expect(volumeShrinkProblem(128, 256, "hosts.big.storage.volumeGiB")).toBe(
            "hosts.big.storage.volumeGiB is 128 GiB, but the state volume is already 256 GiB and an EBS volume cannot shrink " +
                '(ModifyVolume: "The target volume size must be greater than or equal to the existing size of the volume"); ' +
                "set hosts.big.storage.volumeGiB to 256 or more",
        );
    });
});
