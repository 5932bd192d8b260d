/**
 * What the AWS provider (terraform-provider-aws, bridged by @pulumi/aws) and the AWS APIs impose on
 * every property the program sets, and which properties force a replacement. Provider lines are
 * at `terraform-provider-aws@v5.14.0` under `internal/service/`; API rules are AWS's own service
 * models (`botocore@1.43.67`, `botocore/data/<service>/<version>/service-2.json`) and user guides.
 * See revisions.ts for how those relate to the pinned @pulumi/aws 7.48.0.
 */
import { networkOf, parseCidr } from "../cidr";
import {
    Canonical,
    CodeSource,
    Constraint,
    DocSource,
    entries,
    ReadsBack,
    readsBackAsSent as sent,
    Rule,
    Source,
} from "./types";

/** One ModifyVolume changes size, type, IOPS and throughput together; each call counts against this. */
const modifyVolumeRate: Rule = {
    kind: "rateLimited",
    says: "ModifyVolume: a volume can be modified up to four times within a rolling 24-hour period, each after the previous modification completed",
};

const tf = (path: string, line: number, v6?: string): CodeSource => ({
    rev: "terraform-provider-aws@v5.14.0",
    path: `internal/service/${path}`,
    line,
    ...(v6
        ? {
              alsoAt: {
                  rev: v6.startsWith("ec2/") ? "terraform-provider-aws@v6.32" : "terraform-provider-aws@v6-index",
                  where: v6.replace(/^ec2\//, ""),
              },
          }
        : {}),
});
const ec2Api = (line: number): CodeSource => ({
    rev: "botocore@1.43.67",
    path: "botocore/data/ec2/2016-11-15/service-2.json",
    line,
});
const dlmApi = (line: number): CodeSource => ({
    rev: "botocore@1.43.67",
    path: "botocore/data/dlm/2018-01-12/service-2.json",
    line,
});
const iamApi = (line: number): CodeSource => ({
    rev: "botocore@1.43.67",
    path: "botocore/data/iam/2010-05-08/service-2.json",
    line,
});
const doc = (url: string, says: string): DocSource => ({ url, says, read: "2026-12 (search index copy)" });

const replace: Rule = { kind: "forcesReplacement" };
const bool: Rule = { kind: "enum", values: [true, false] };
const id = (what: string): Rule => ({
    kind: "unconstrained",
    says: `${what}: an id another resource outputs (known only to AWS)`,
});

type Entry = Omit<Constraint, "type">;

/**
 * Properties whose one rule is RULE (a replacement, a boolean), each at its schema line in the
 * provider's FILE, or `[line, note]` where a note is due: `{ name: [56, "autonamed"], path: 72 }`.
 */
function each(rule: Rule, file: string, lines: Readonly<Record<string, number | readonly [number, string]>>): Entry[] {
    return Object.entries(lines).map(([property, at]) => {
        const [line, note] = typeof at === "number" ? [at] : at;
        return { property, rules: [rule], sources: [tf(file, line)], ...(note === undefined ? {} : { note }) };
    });
}

/** Another resource's id that the resource is created with: a change replaces it, and a refresh reads it back as READ says. */
const createdWith = (property: string, what: string, schema: CodeSource, read: ReadsBack): Entry => ({
    property,
    rules: [id(what), replace, read],
    sources: [schema],
});

/** Another resource's id that changes in place. */
const linkedId = (property: string, what: string, sources: Source[], note?: string): Entry => ({
    property,
    rules: [id(what)],
    sources,
    ...(note === undefined ? {} : { note }),
});

/** Characters EC2 accepts in a security group's or a rule's description (EC2 API: IpRange, Ipv6Range, CreateSecurityGroup). */
export const ec2DescriptionCharacters = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
const ec2Description: Rule[] = [
    { kind: "pattern", regex: ec2DescriptionCharacters, says: "a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*" },
    { kind: "length", max: 255 },
];

/** DLM's pattern for a policy description and a schedule name. */
export const dlmNameCharacters = /^[0-9A-Za-z _-]+$/;

/** Tags on an EC2 resource (EC2 API `Tag`: key up to 127 characters, not starting with `aws:`; value up to 256). */
function ec2Tags(prefix = "tags"): Entry[] {
    return [
        {
            property: `${prefix}{key}`,
            rules: [
                { kind: "length", min: 1, max: 127 },
                { kind: "pattern", regex: /^(?!aws:)/, says: "must not start with aws:" },
            ],
            sources: [ec2Api(73986)],
        },
        { property: `${prefix}{value}`, rules: [{ kind: "length", max: 256 }], sources: [ec2Api(73991)] },
    ];
}

/** Tags on an IAM resource (IAM API `tagKeyType`, `tagValueType`). */
const iamTags: Entry[] = [
    {
        property: "tags{key}",
        rules: [
            { kind: "length", min: 1, max: 128 },
            { kind: "pattern", regex: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u, says: "letters, digits, spaces and _.:/=+-@" },
        ],
        sources: [iamApi(10310)],
    },
    {
        property: "tags{value}",
        rules: [
            { kind: "length", max: 256 },
            { kind: "pattern", regex: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, says: "letters, digits, spaces and _.:/=+-@" },
        ],
        sources: [iamApi(10321)],
    },
];

const cidr4 = (prefix?: readonly [number, number]): Rule => ({
    kind: "cidr",
    family: 4,
    ...(prefix ? { prefix } : {}),
});

/** A CIDR without host bits, IPv6 lower-case and compressed (lib/cidr.ts networkOf); anything else as it is. */
const ec2Cidr: Canonical = {
    form: "the CIDR in its canonical form",
    of: (v) => {
        const c = typeof v === "string" ? parseCidr(v) : undefined;
        return c ? networkOf(c) : v;
    },
};
/** The Read sets the property from what EC2 describes; EC2 keeps a CIDR in its canonical form. */
const canonicalOnRead = (read: CodeSource, ...more: Source[]): Rule => ({
    kind: "readsBack",
    canonical: ec2Cidr,
    sources: [read, ...more],
    says:
        'read back from what EC2 describes, and EC2 stores a CIDR in its canonical form ("We modify the specified CIDR block to its canonical form"): ' +
        "send that form, or a refresh reads back another string and the next up replaces the resource",
});

const ebsEncryptionByDefault = doc(
    "https://docs.aws.amazon.com/cli/latest/reference/ec2/enable-ebs-encryption-by-default.md",
    "After you enable encryption by default, the EBS volumes that you create are always encrypted",
);
/** A volume's encryption is read from the volume; with encryption by default on, every new volume is encrypted whatever was sent. */
const encryptedOnRead = (read: CodeSource): Rule => ({
    kind: "readsBack",
    canonical: { form: "true when the account encrypts new volumes by default", of: () => true },
    sources: [read, ebsEncryptionByDefault],
    says:
        "read back from the volume (DescribeVolumes Encrypted): a false sent reads back true in an account with EBS encryption by default, " +
        "so only true is read back as sent everywhere",
});

/**
 * A property a refresh reads back from what the resource really is (a fact of the world), so a
 * value set here can differ from it: leave it unset.
 */
const readsBackAsFound = (says: string, ...sources: Source[]): Rule => ({
    kind: "readsBack",
    mustBeUnset: true,
    sources,
    says,
});

/** The volume attachment's Read looks the attachment up by the three values in the state and writes none back. */
const attachmentFromState = sent(
    "kept from the state: the Read takes device_name, instance_id and volume_id from the state (d.Get) to find the attachment and sets none of them",
    tf("ec2/ebs_volume_attachment.go", 134),
);

export const awsConstraints: Constraint[] = [
    ...entries("aws:ec2/vpc:Vpc", [
        {
            property: "cidrBlock",
            rules: [cidr4([16, 28]), replace, canonicalOnRead(tf("ec2/vpc_.go", 286), ec2Api(21932))],
            sources: [tf("ec2/vpc_.go", 74), tf("ec2/vpc_.go", 35), ec2Api(21932)],
            note: "VPCCIDRMinIPv4 = 16, VPCCIDRMaxIPv4 = 28",
        },
        ...each(bool, "ec2/vpc_.go", { enableDnsSupport: 103, enableDnsHostnames: 98 }),
        ...each(replace, "ec2/vpc_.go", {
            instanceTenancy: [113, "not set: default"],
            ipv4IpamPoolId: 119,
            ipv4NetmaskLength: 124,
        }),
        ...ec2Tags(),
    ]),
    ...entries("aws:ec2/subnet:Subnet", [
        createdWith(
            "vpcId",
            "the VPC",
            tf("ec2/vpc_subnet.go", 149),
            sent("DescribeSubnets VpcId: the VPC the subnet was created in", tf("ec2/vpc_subnet.go", 260)),
        ),
        {
            property: "cidrBlock",
            rules: [cidr4([16, 28]), replace, canonicalOnRead(tf("ec2/vpc_subnet.go", 251), ec2Api(20100))],
            sources: [
                tf("ec2/vpc_subnet.go", 75),
                doc(
                    "https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html",
                    "The allowed IPv4 CIDR block size for a subnet is between a /28 netmask and /16 netmask.",
                ),
                ec2Api(20100),
            ],
            note: "the provider checks only that it is a network address; the prefix range is the API's",
        },
        {
            property: "availabilityZone",
            rules: [
                { kind: "pattern", regex: /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, says: "a zone name such as us-east-1a" },
                replace,
                sent(
                    "DescribeSubnets AvailabilityZone: the zone the subnet was created in, by the name it was created with",
                    tf("ec2/vpc_subnet.go", 249),
                ),
            ],
            sources: [tf("ec2/vpc_subnet.go", 61)],
            note: "ignored once created (components/aws/network.ts): a zone AWS offers later never moves the host",
        },
        ...each(replace, "ec2/vpc_subnet.go", { availabilityZoneId: 68, outpostArn: 131 }),
        ...each(bool, "ec2/vpc_subnet.go", { mapPublicIpOnLaunch: 126 }),
        ...ec2Tags(),
    ]),
    ...entries("aws:ec2/internetGateway:InternetGateway", [
        linkedId("vpcId", "the VPC", [tf("ec2/vpc_internet_gateway.go", 56)], "attached and detached in place"),
        ...ec2Tags(),
    ]),
    ...entries("aws:ec2/routeTable:RouteTable", [
        createdWith(
            "vpcId",
            "the VPC",
            tf("ec2/vpc_route_table.go", 155),
            sent("DescribeRouteTables VpcId: the VPC it was created in", tf("ec2/vpc_route_table.go", 249)),
        ),
        ...ec2Tags(),
    ]),
    ...entries("aws:ec2/route:Route", [
        createdWith(
            "routeTableId",
            "the route table",
            tf("ec2/vpc_route.go", 68),
            sent(
                "the Read takes it from the state (d.Get) to find the route and never sets it",
                tf("ec2/vpc_route.go", 292),
            ),
        ),
        {
            property: "destinationCidrBlock",
            rules: [cidr4(), replace, canonicalOnRead(tf("ec2/vpc_route.go", 310), tf("ec2/find.go", 2021))],
            sources: [tf("ec2/vpc_route.go", 77), ec2Api(19519)],
            note: "the Read finds the route by an equal CIDR (types.CIDRBlocksEqual), then sets the destination EC2 reports",
        },
        ...each(replace, "ec2/vpc_route.go", { destinationIpv6CidrBlock: 84, destinationPrefixListId: 91 }),
        linkedId("gatewayId", "the internet gateway", [tf("ec2/vpc_route.go", 119)], "changed in place (ReplaceRoute)"),
    ]),
    ...entries("aws:ec2/routeTableAssociation:RouteTableAssociation", [
        createdWith(
            "subnetId",
            "the subnet",
            tf("ec2/vpc_route_table_association.go", 51),
            sent("the association's SubnetId as EC2 describes it", tf("ec2/vpc_route_table_association.go", 120)),
        ),
        ...each(replace, "ec2/vpc_route_table_association.go", { gatewayId: 41 }),
        linkedId("routeTableId", "the route table", [tf("ec2/vpc_route_table_association.go", 47)], "changed in place"),
    ]),
    ...entries("aws:ec2/securityGroup:SecurityGroup", [
        createdWith(
            "vpcId",
            "the VPC",
            tf("ec2/vpc_security_group.go", 104),
            sent("DescribeSecurityGroups VpcId", tf("ec2/vpc_security_group.go", 301)),
        ),
        {
            property: "description",
            rules: [
                ...ec2Description,
                replace,
                sent(
                    "DescribeSecurityGroups Description: the text the group was created with (EC2 has no call that changes it)",
                    tf("ec2/vpc_security_group.go", 297),
                ),
            ],
            sources: [tf("ec2/vpc_security_group.go", 62), ec2Api(19847)],
        },
        ...each(replace, "ec2/vpc_security_group.go", { name: [71, "autonamed by Pulumi"], namePrefix: 82 }),
        ...ec2Tags(),
    ]),
    ...(
        [
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        ] as const
    ).flatMap((type) => {
        // The egress rule embeds the ingress rule's resource (vpc_security_group_egress_rule.go:27): one schema.
        const file = "ec2/vpc_security_group_ingress_rule.go";
        return entries(type, [
            createdWith(
                "securityGroupId",
                "the security group",
                tf(file, 139),
                sent("DescribeSecurityGroupRules GroupId", tf(file, 229)),
            ),
            {
                property: "description",
                rules: ec2Description,
                sources: [tf(file, 117), ec2Api(50560), ec2Api(53472)],
                note: "the provider passes it through unchecked; the API refuses other characters",
            },
            {
                property: "ipProtocol",
                rules: [{ kind: "enum", values: ["tcp", "udp", "icmp", "icmpv6", "-1"] }],
                sources: [tf(file, 127)],
                note: "the provider normalises protocol numbers to these names",
            },
            {
                property: "fromPort",
                rules: [{ kind: "range", min: -1, max: 65535, integer: true }],
                sources: [tf(file, 120)],
            },
            {
                property: "toPort",
                rules: [{ kind: "range", min: -1, max: 65535, integer: true }],
                sources: [tf(file, 153)],
            },
            {
                property: "cidrIpv4",
                rules: [
                    cidr4(),
                    canonicalOnRead(tf(file, 223)),
                    { kind: "forcesReplacement", when: "the source changes kind (CIDR, IPv6 CIDR, security group)" },
                ],
                sources: [tf(file, 105), tf(file, 341)],
            },
            {
                property: "cidrIpv6",
                rules: [
                    { kind: "cidr", family: 6 },
                    canonicalOnRead(tf(file, 224)),
                    { kind: "forcesReplacement", when: "the source changes kind (CIDR, IPv6 CIDR, security group)" },
                ],
                sources: [tf(file, 111), tf(file, 341)],
            },
            {
                property: "referencedSecurityGroupId",
                rules: [
                    id("the security group"),
                    { kind: "forcesReplacement", when: "the source changes kind" },
                    sent(
                        "the bare group id for a group of the caller's account (flattenReferencedSecurityGroup; another account's reads back as account/sg-id): ours is the host's own group",
                        tf(file, 228),
                        tf(file, 435),
                    ),
                ],
                sources: [tf(file, 136), tf(file, 341)],
            },
            ...ec2Tags(),
        ]);
    }),
    ...entries("aws:iam/role:Role", [
        ...each(replace, "iam/role.go", { name: [139, "autonamed by Pulumi"], namePrefix: 147, path: 155 }),
        {
            property: "description",
            rules: [
                { kind: "length", max: 1000 },
                {
                    kind: "pattern",
                    regex: /^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*$/,
                    says: "printable Latin-1",
                },
            ],
            sources: [tf("iam/role.go", 75), iamApi(10124)],
            note: "the provider also refuses curly quotes",
        },
        {
            property: "assumeRolePolicy",
            rules: [{ kind: "json" }, { kind: "length", min: 1, max: 2048 }],
            sources: [
                tf("iam/role.go", 60),
                doc(
                    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
                    "Role trust policy length: 2,048 characters (default quota)",
                ),
            ],
        },
        ...iamTags,
    ]),
    ...entries("aws:iam/rolePolicy:RolePolicy", [
        ...each(replace, "iam/role_policy.go", { name: [56, "autonamed"], namePrefix: 64 }),
        createdWith(
            "role",
            "the role",
            tf("iam/role_policy.go", 71),
            sent(
                "parsed back from the resource id, which Create makes of the role name sent (role:policy)",
                tf("iam/role_policy.go", 176),
                tf("iam/role_policy.go", 109),
            ),
        ),
        {
            property: "policy",
            rules: [
                { kind: "json" },
                { kind: "length", min: 1, max: 10240 },
                { kind: "pattern", regex: /^[\u0009\u000A\u000D\u0020-\u00FF]+$/, says: "tab, newline and Latin-1" },
            ],
            sources: [
                tf("iam/role_policy.go", 45),
                iamApi(9981),
                doc(
                    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
                    "Role policy size: the inline policies of a role cannot exceed 10,240 characters in total",
                ),
            ],
            note: "the 10,240 characters are for all of a role's inline policies together; each of ours is far below",
        },
    ]),
    ...entries("aws:iam/instanceProfile:InstanceProfile", [
        ...each(replace, "iam/instance_profile.go", { name: [56, "autonamed"], namePrefix: 64, path: 72 }),
        linkedId("role", "the role", [tf("iam/instance_profile.go", 78)]),
        ...iamTags,
    ]),
    ...entries("aws:ec2/keyPair:KeyPair", [
        {
            property: "keyName",
            rules: [{ kind: "length", max: 255 }, replace],
            sources: [tf("ec2/ec2_key_pair.go", 57), ec2Api(45742)],
            note: "autonamed",
        },
        ...each(replace, "ec2/ec2_key_pair.go", { keyNamePrefix: 65 }),
        {
            property: "publicKey",
            rules: [
                {
                    kind: "pattern",
                    regex: /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( [^\n]*)?$/,
                    says: "one OpenSSH public key line of a type EC2 imports",
                },
                replace,
                sent(
                    "kept from the state: the Read sets arn, fingerprint, key_name, key_type, key_pair_id and tags, never public_key",
                    tf("ec2/ec2_key_pair.go", 122),
                ),
            ],
            sources: [tf("ec2/ec2_key_pair.go", 81)],
        },
        ...ec2Tags(),
    ]),
    ...entries("aws:ec2/instance:Instance", [
        {
            property: "ami",
            rules: [
                { kind: "pattern", regex: /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/, says: "an AMI id" },
                replace,
                sent(
                    "DescribeInstances ImageId: the AMI the instance was launched from",
                    tf(
                        "ec2/ec2_instance.go",
                        1142,
                        'ec2/ec2_instance.go resourceInstanceFlatten: rd.Set("ami", instance.ImageId)',
                    ),
                ),
            ],
            sources: [tf("ec2/ec2_instance.go", 64, 'ec2/ec2_instance.go schema "ami" (ForceNew)')],
        },
        {
            property: "associatePublicIpAddress",
            rules: [
                replace,
                readsBackAsFound(
                    "read back as whether the primary interface has any public address association, so true once the Elastic IP is associated: a value of false here replaces the host after a refresh",
                    tf(
                        "ec2/ec2_instance.go",
                        1233,
                        'ec2/ec2_instance.go resourceInstanceFlatten: rd.Set("associate_public_ip_address", primaryNetworkInterface.Association != nil)',
                    ),
                    tf("ec2/ec2_instance.go", 1246),
                ),
            ],
            sources: [
                tf(
                    "ec2/ec2_instance.go",
                    75,
                    'ec2/ec2_instance.go schema "associate_public_ip_address" (ForceNew, Computed)',
                ),
                tf(
                    "ec2/ec2_instance.go",
                    1233,
                    'ec2/ec2_instance.go resourceInstanceRead: d.Set("associate_public_ip_address", primaryNetworkInterface.Association != nil)',
                ),
            ],
            note: "terraform-provider-aws issue #37318; leave it unset: the subnet's mapPublicIpOnLaunch (false) decides at launch",
        },
        {
            property: "availabilityZone",
            rules: [
                replace,
                readsBackAsFound(
                    "read back as the instance's placement, which the subnet decides; setting it too only adds a property that forces replacement",
                    tf(
                        "ec2/ec2_instance.go",
                        1089,
                        "ec2/ec2_instance.go resourceInstanceFlatten: rd.Set(names.AttrAvailabilityZone, v.AvailabilityZone)",
                    ),
                ),
            ],
            sources: [tf("ec2/ec2_instance.go", 81, 'ec2/ec2_instance.go schema "availability_zone" (ForceNew)')],
        },
        {
            property: "instanceType",
            rules: [{ kind: "pattern", regex: /^[a-z0-9]+\.[a-z0-9-]+$/, says: "an instance type name" }],
            sources: [
                tf("ec2/ec2_instance.go", 457),
                tf(
                    "ec2/ec2_instance.go",
                    1663,
                    "ec2/ec2_instance.go resourceInstanceUpdate: modifyInstanceAttributeWithStopStart for instance_type",
                ),
                tf("ec2/wait.go", 27),
            ],
            note: "changed in place: the provider stops the instance, modifies the type and starts it (waits of 10 minutes each, InstanceStopTimeout / InstanceStartTimeout, not Pulumi's customTimeouts)",
        },
        {
            property: "keyName",
            rules: [
                { kind: "length", max: 255 },
                replace,
                sent(
                    "DescribeInstances KeyName: the key pair the instance was launched with",
                    tf(
                        "ec2/ec2_instance.go",
                        1144,
                        'ec2/ec2_instance.go resourceInstanceFlatten: rd.Set("key_name", instance.KeyName)',
                    ),
                ),
            ],
            sources: [tf("ec2/ec2_instance.go", 481, 'ec2/ec2_instance.go schema "key_name" (ForceNew)')],
            note: "ignored after creation; see the engine entries (pulumi.ts): a replacement gets the old value",
        },
        createdWith(
            "subnetId",
            "the subnet",
            tf("ec2/ec2_instance.go", 776),
            sent(
                "the primary network interface's subnet (or the instance's): the one it was launched in",
                tf(
                    "ec2/ec2_instance.go",
                    1223,
                    "ec2/ec2_instance.go resourceInstanceFlatten: rd.Set(names.AttrSubnetID, primaryNetworkInterface.SubnetId)",
                ),
                tf("ec2/ec2_instance.go", 1249),
            ),
        ),
        ...each(replace, "ec2/ec2_instance.go", {
            privateIp: 669,
            tenancy: 784,
            placementGroup: 621,
            hostId: 365,
            networkInterfaces: 581,
            ebsBlockDevices: 224,
            ephemeralBlockDevices: 323,
            launchTemplate: 487,
            cpuOptions: 124,
        }),
        linkedId(
            "iamInstanceProfile",
            "the instance profile",
            [tf("ec2/ec2_instance.go", 377)],
            "re-associated in place",
        ),
        linkedId("vpcSecurityGroupIds[]", "the security group", [tf("ec2/ec2_instance.go", 836)]),
        {
            property: "metadataOptions.httpEndpoint",
            rules: [{ kind: "enum", values: ["enabled", "disabled"] }],
            sources: [tf("ec2/ec2_instance.go", 543)],
        },
        {
            property: "metadataOptions.httpTokens",
            rules: [{ kind: "enum", values: ["optional", "required"] }],
            sources: [tf("ec2/ec2_instance.go", 561)],
        },
        {
            property: "metadataOptions.httpPutResponseHopLimit",
            rules: [{ kind: "range", min: 1, max: 64, integer: true }],
            sources: [tf("ec2/ec2_instance.go", 555), ec2Api(47366)],
        },
        {
            property: "metadataOptions.instanceMetadataTags",
            rules: [{ kind: "enum", values: ["enabled", "disabled"] }],
            sources: [tf("ec2/ec2_instance.go", 567)],
        },
        {
            property: "rootBlockDevice.encrypted",
            rules: [
                bool,
                replace,
                encryptedOnRead(
                    tf(
                        "ec2/ec2_instance.go",
                        2245,
                        "ec2/ec2_instance.go readBlockDevicesFromInstance: bd[names.AttrEncrypted] = aws.ToBool(vol.Encrypted)",
                    ),
                ),
            ],
            sources: [tf("ec2/ec2_instance.go", 702)],
        },
        ...each(replace, "ec2/ec2_instance.go", { "rootBlockDevice.kmsKeyId": 714 }),
        ...each(bool, "ec2/ec2_instance.go", { "rootBlockDevice.deleteOnTermination": 693 }),
        {
            property: "rootBlockDevice.volumeType",
            rules: [{ kind: "enum", values: ["standard", "io1", "io2", "gp2", "sc1", "st1", "gp3"] }],
            sources: [tf("ec2/ec2_instance.go", 736)],
        },
        {
            property: "rootBlockDevice.volumeSize",
            rules: [
                { kind: "range", min: 1, max: 65536, integer: true },
                {
                    kind: "growOnly",
                    says: "ModifyVolume: the target size must be greater than or equal to the existing size",
                },
            ],
            sources: [tf("ec2/ec2_instance.go", 731), ec2Api(21570), ec2Api(59984)],
        },
        ...ec2Tags("rootBlockDevice.tags"),
        {
            property: "userData",
            rules: [
                {
                    kind: "secret",
                    checkedBy: "tests/unit/aws-userdata.test.ts (hostKeyUserData) and the length limit there",
                },
                { kind: "length", max: 16384, unit: "bytes" },
            ],
            sources: [tf("ec2/ec2_instance.go", 791), ec2Api(69463)],
            note: "ignored after creation: read at first boot only",
        },
        {
            property: "userDataReplaceOnChange",
            rules: [{ kind: "enum", values: [false] }],
            sources: [tf("ec2/ec2_instance.go", 830), tf("ec2/ec2_instance.go", 902)],
            note: "true would make any user-data change a replacement (customdiff.ForceNewIf)",
        },
        ...ec2Tags(),
    ]),
    ...entries("aws:ec2/eip:Eip", [
        {
            property: "domain",
            rules: [
                { kind: "enum", values: ["vpc", "standard"] },
                replace,
                sent("DescribeAddresses Domain", tf("ec2/ec2_eip.go", 228)),
            ],
            sources: [tf("ec2/ec2_eip.go", 78)],
        },
        ...each(replace, "ec2/ec2_eip.go", {
            address: 49,
            customerOwnedIpv4Pool: [74, "Optional in v5.14; ForceNew in the API (a new address)"],
            networkBorderGroup: 91,
            publicIpv4Pool: 118,
        }),
        ...ec2Tags(),
    ]),
    ...entries("aws:ec2/eipAssociation:EipAssociation", [
        createdWith(
            "allocationId",
            "the Elastic IP allocation",
            tf("ec2/ec2_eip_association.go", 33),
            sent("DescribeAddresses AllocationId of the association", tf("ec2/ec2_eip_association.go", 155)),
        ),
        createdWith(
            "instanceId",
            "the instance",
            tf("ec2/ec2_eip_association.go", 44),
            sent("DescribeAddresses InstanceId of the association", tf("ec2/ec2_eip_association.go", 156)),
        ),
        ...each(replace, "ec2/ec2_eip_association.go", {
            networkInterfaceId: 50,
            privateIpAddress: 56,
            publicIp: 62,
            allowReassociation: 39,
        }),
    ]),
    ...entries("aws:ebs/volume:Volume", [
        {
            property: "availabilityZone",
            rules: [
                { kind: "pattern", regex: /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, says: "a zone name" },
                replace,
                sent(
                    "DescribeVolumes AvailabilityZone: the zone the volume was created in",
                    tf(
                        "ec2/ebs_volume.go",
                        212,
                        "ebs_volume.go resourceEBSVolumeRead: d.Set(names.AttrAvailabilityZone, volume.AvailabilityZone)",
                    ),
                ),
            ],
            sources: [tf("ec2/ebs_volume.go", 58)],
            note: "taken from the host's subnet, so it is the zone the host really is in",
        },
        {
            property: "encrypted",
            rules: [
                bool,
                replace,
                encryptedOnRead(
                    tf(
                        "ec2/ebs_volume.go",
                        213,
                        "ebs_volume.go resourceEBSVolumeRead: d.Set(names.AttrEncrypted, volume.Encrypted)",
                    ),
                ),
            ],
            sources: [tf("ec2/ebs_volume.go", 63)],
        },
        ...each(replace, "ec2/ebs_volume.go", { kmsKeyId: 79 }),
        {
            property: "snapshotId",
            rules: [{ kind: "pattern", regex: /^snap-[0-9a-f]{8}([0-9a-f]{9})?$/, says: "a snapshot id" }, replace],
            sources: [tf("ec2/ebs_volume.go", 103)],
        },
        ...each(replace, "ec2/ebs_volume.go", { outpostArn: 91, multiAttachEnabled: 86 }),
        {
            property: "size",
            rules: [
                { kind: "range", min: 1, max: 65536, integer: true },
                {
                    kind: "growOnly",
                    says: 'ModifyVolume: "The target volume size must be greater than or equal to the existing size of the volume"',
                },
                modifyVolumeRate,
            ],
            sources: [
                tf("ec2/ebs_volume.go", 97),
                tf("ec2/ebs_volume.go", 241),
                ec2Api(21570),
                ec2Api(59984),
                ec2Api(6997),
            ],
            note: "changed in place (ModifyVolume); gp3 and io2 take 1-65,536 GiB (io2 from 4); the filesystem is grown on the host (nixos/scripts)",
        },
        {
            property: "type",
            rules: [{ kind: "enum", values: ["gp3", "io2"] }, modifyVolumeRate],
            sources: [tf("ec2/ebs_volume.go", 118), ec2Api(21578), ec2Api(6997)],
            note: "the two types the stack config offers, of the API's seven",
        },
        {
            property: "iops",
            rules: [{ kind: "range", min: 100, max: 256000, integer: true }, modifyVolumeRate],
            sources: [tf("ec2/ebs_volume.go", 74), ec2Api(21558), ec2Api(6997)],
            note: "gp3 3,000-80,000, io2 100-256,000; the per-GiB rules are in infra/config/storage.ts",
        },
        {
            property: "throughput",
            rules: [{ kind: "range", min: 125, max: 2000, integer: true }, modifyVolumeRate],
            sources: [tf("ec2/ebs_volume.go", 112), ec2Api(21591), ec2Api(6997)],
            note: "v5.14 validates 125-1000; the API takes up to 2,000 MiB/s",
        },
        ...each(bool, "ec2/ebs_volume.go", { finalSnapshot: 69 }),
        ...ec2Tags(),
    ]),
    ...entries("aws:ec2/volumeAttachment:VolumeAttachment", [
        {
            property: "deviceName",
            rules: [
                {
                    kind: "pattern",
                    regex: /^\/dev\/(sd[f-p]|xvd[f-p])$/,
                    says: "an EBS device name EC2 recommends for data volumes",
                },
                replace,
                attachmentFromState,
            ],
            sources: [tf("ec2/ebs_volume_attachment.go", 58)],
        },
        createdWith("instanceId", "the instance", tf("ec2/ebs_volume_attachment.go", 67), attachmentFromState),
        createdWith("volumeId", "the volume", tf("ec2/ebs_volume_attachment.go", 80), attachmentFromState),
        ...each(bool, "ec2/ebs_volume_attachment.go", { stopInstanceBeforeDetaching: 76 }),
    ]),
    ...entries("aws:dlm/lifecyclePolicy:LifecyclePolicy", [
        {
            property: "description",
            rules: [
                { kind: "pattern", regex: dlmNameCharacters, says: "letters, digits, spaces, '_' and '-'" },
                { kind: "length", min: 1, max: 500 },
            ],
            sources: [
                tf(
                    "dlm/lifecycle_policy.go",
                    44,
                    'dlm/lifecycle_policy.go schema "description": StringMatch("^[0-9A-Za-z _-]+$"), StringLenBetween(1, 500)',
                ),
                dlmApi(928),
            ],
        },
        linkedId("executionRoleArn", "the DLM role", [tf("dlm/lifecycle_policy.go", 52), dlmApi(249)]),
        {
            property: "state",
            rules: [{ kind: "enum", values: ["ENABLED", "DISABLED"] }],
            sources: [tf("dlm/lifecycle_policy.go", 489), dlmApi(1232)],
        },
        {
            property: "policyDetails.resourceTypes[]",
            rules: [{ kind: "enum", values: ["VOLUME", "INSTANCE"] }],
            sources: [tf("dlm/lifecycle_policy.go", 177), dlmApi(1061)],
        },
        {
            property: "policyDetails.targetTags{key}",
            rules: [{ kind: "length", max: 500 }],
            sources: [tf("dlm/lifecycle_policy.go", 481), dlmApi(1303)],
        },
        {
            property: "policyDetails.targetTags{value}",
            rules: [{ kind: "length", max: 500 }],
            sources: [tf("dlm/lifecycle_policy.go", 481), dlmApi(1303)],
        },
        {
            property: "policyDetails.schedules[].name",
            rules: [
                { kind: "pattern", regex: dlmNameCharacters, says: "letters, digits, spaces, '_' and '-'" },
                { kind: "length", min: 1, max: 120 },
            ],
            sources: [tf("dlm/lifecycle_policy.go", 405), dlmApi(1179)],
            note: "the provider checks the length only; the API refuses other characters",
        },
        {
            property: "policyDetails.schedules[].copyTags",
            rules: [
                bool,
                replace,
                sent("flattenSchedules: aws.BoolValue(CopyTags), false when unset", tf("dlm/lifecycle_policy.go", 709)),
            ],
            sources: [tf("dlm/lifecycle_policy.go", 226)],
        },
        {
            property: "policyDetails.schedules[].createRule.interval",
            rules: [{ kind: "enum", values: [1, 2, 3, 4, 6, 8, 12, 24] }],
            sources: [tf("dlm/lifecycle_policy.go", 243), dlmApi(315)],
        },
        {
            property: "policyDetails.schedules[].createRule.intervalUnit",
            rules: [{ kind: "enum", values: ["HOURS"] }],
            sources: [tf("dlm/lifecycle_policy.go", 248), dlmApi(749)],
        },
        {
            property: "policyDetails.schedules[].retainRule.count",
            rules: [{ kind: "range", min: 1, max: 1000, integer: true }],
            sources: [tf("dlm/lifecycle_policy.go", 416), dlmApi(232)],
        },
        {
            property: "policyDetails.schedules[].tagsToAdd{key}",
            rules: [
                { kind: "length", max: 500 },
                { kind: "pattern", regex: /^(?!aws:)/, says: "must not start with aws:" },
            ],
            sources: [tf("dlm/lifecycle_policy.go", 468), dlmApi(1303)],
        },
        {
            property: "policyDetails.schedules[].tagsToAdd{value}",
            rules: [{ kind: "length", max: 500 }],
            sources: [tf("dlm/lifecycle_policy.go", 468), dlmApi(1303)],
        },
        {
            property: "tags{key}",
            rules: [
                { kind: "length", min: 1, max: 128 },
                {
                    kind: "pattern",
                    regex: /^(?!aws:)[a-zA-Z+-=._:/]+$/,
                    says: "DLM's tag key pattern (^(?!aws:)[a-zA-Z+-=._:/]+$)",
                },
            ],
            sources: [dlmApi(1333)],
        },
        { property: "tags{value}", rules: [{ kind: "length", max: 256 }], sources: [dlmApi(1375)] },
    ]),
];
