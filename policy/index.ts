/**
 * The policy pack: `pulumi preview --policy-pack policy` (the preview workflow does). Pulumi runs
 * this directory with its own policy-pack runner; modules resolve from the repository's root
 * node_modules (`npm ci` at the root installs @pulumi/policy). The policies are in ./policies.
 */
import { PolicyPack } from "@pulumi/policy";
import { packName, policies } from "./policies";

new PolicyPack(packName, { enforcementLevel: "mandatory", policies });
