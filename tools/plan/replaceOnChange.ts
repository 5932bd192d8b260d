/**
 * Which input changes make a provider replace a resource instead of updating it in place, for
 * every resource type the program declares (from the providers' schemas: properties marked
 * "forces new resource" / replaceOnChanges). `--against` uses it to say update or replace; a
 * test fails when the program declares a type that is missing here. `pulumi preview` remains
 * authoritative: it asks the provider itself.
 *
 * Paths are top-level input names, or `name.sub` for a nested field.
 */
export const replaceOnChange: Record<string, readonly string[]> = {
    "aws:ec2/vpc:Vpc": ["cidrBlock", "instanceTenancy", "ipv4IpamPoolId", "ipv4NetmaskLength"],
    "aws:ec2/subnet:Subnet": ["vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "outpostArn"],
    "aws:ec2/internetGateway:InternetGateway": [],
    "aws:ec2/routeTable:RouteTable": ["vpcId"],
    "aws:ec2/route:Route": ["routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"],
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ["subnetId", "gatewayId"],
    "aws:ec2/securityGroup:SecurityGroup": ["name", "namePrefix", "vpcId", "description"],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["securityGroupId"],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ["securityGroupId"],
    "aws:iam/role:Role": ["name", "namePrefix", "path"],
    "aws:iam/rolePolicy:RolePolicy": ["name", "namePrefix", "role"],
    "aws:iam/instanceProfile:InstanceProfile": ["name", "namePrefix", "path"],
    "aws:ec2/keyPair:KeyPair": ["keyName", "keyNamePrefix", "publicKey"],
    "aws:ec2/instance:Instance": [
        "ami", "availabilityZone", "subnetId", "keyName", "privateIp", "associatePublicIpAddress", "tenancy",
        "placementGroup", "hostId", "networkInterfaces", "ebsBlockDevices", "ephemeralBlockDevices",
        "rootBlockDevice.encrypted", "rootBlockDevice.kmsKeyId", "launchTemplate", "cpuOptions",
    ],
    "aws:ec2/eip:Eip": ["domain", "address", "customerOwnedIpv4Pool", "networkBorderGroup", "publicIpv4Pool", "ipamPoolId"],
    "aws:ec2/eipAssociation:EipAssociation": ["allocationId", "instanceId", "networkInterfaceId", "privateIpAddress", "publicIp", "allowReassociation"],
    "aws:ebs/volume:Volume": ["availabilityZone", "encrypted", "kmsKeyId", "snapshotId", "outpostArn"],
    "aws:ec2/volumeAttachment:VolumeAttachment": ["deviceName", "instanceId", "volumeId"],
    "tls:index/privateKey:PrivateKey": ["algorithm", "ecdsaCurve", "rsaBits"],
    "tailscale:index/tailnetKey:TailnetKey": ["reusable", "ephemeral", "preauthorized", "expiry", "tags", "description"],
    "tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes": ["deviceId"],
    "tailscale:index/deviceKey:DeviceKey": ["deviceId"],
    "tailscale:index/deviceTags:DeviceTags": ["deviceId"],
    "tailscale:index/acl:Acl": [],
    "command:remote:Command": ["triggers"],
    "command:remote:CopyToRemote": ["triggers", "remotePath", "source"],
    "command:local:Command": ["triggers"],
};
