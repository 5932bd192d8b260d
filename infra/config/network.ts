/** `network`: the dedicated VPC and the host's subnet (rules: components/aws/network.ts). */
import { defaultSubnetCidr, defaultVpcCidr, networkCidrProblems } from "../../components/aws/network";
import { Problems, readObject, readString } from "./reader";

export interface NetworkConfig {
    readonly vpcCidr: string;
    readonly subnetCidr: string;
}

export function parseNetwork(p: Problems, raw: unknown): NetworkConfig {
    const o = readObject(p, "network", raw, ["vpcCidr", "subnetCidr"]);
    const vpcCidr = readString(p, o, "network", "vpcCidr", defaultVpcCidr);
    const subnetCidr = readString(p, o, "network", "subnetCidr", defaultSubnetCidr);
    for (const problem of networkCidrProblems(vpcCidr, subnetCidr)) {
        p.add(`network.${problem.arg}`, problem.message);
    }
    return { vpcCidr, subnetCidr };
}
