/**
 * Slots that run real workloads, on the program's side: the config keys (egress, publish, modules)
 * and their messages, what reaches infra.json, the security group and the tailnet policy, and
 * that an edit changes only the slots it names.
 */
import { hostSecurityRules } from "../../components/aws/firewall";
import { tailnetPolicy } from "../../components/tailscale/policy";
import { configProblems, validHost } from "../helpers/config";
import { byType, sharedEdit, StackDoc } from "../helpers/stacks";

type Raw = Record<string, any>;

const problems = (slots: Raw): string[] => configProblems({ host: validHost(), slots });

describe("workload keys are validated like the others", () => {
    test("valid: the three egress forms, both kinds of published port, repository and flake-input modules", () => {
        expect(
            problems({
                slot1: { egress: "internet", publish: [{ port: 8080, to: "tailnet" }], modules: ["guests/dev-tools"] },
                slot2: {
                    egress: { allow: ["github.com", "*.githubusercontent.com"] },
                    publish: [{ port: 80, to: "internet", hostPort: 8080, sources: ["0.0.0.0/0"] }],
                },
                slot3: { egress: "none", modules: ["microvm#microvm-options", "nixpkgs#readOnlyPkgs"] },
            }),
        ).toEqual([]);
    });

    test.each<[string, Raw, string]>([
        [
            "an unknown egress word",
            { slot1: { egress: "all" } },
            'slots.slot1.egress: must be "internet", "none" or { allow: [domains] }, got "all"',
        ],
        [
            "an empty allowlist",
            { slot1: { egress: { allow: [] } } },
            'slots.slot1.egress.allow: must list at least one domain; use egress "none" to allow nothing',
        ],
        [
            "an IP address in the allowlist",
            { slot1: { egress: { allow: ["192.0.2.1"] } } },
            'slots.slot1.egress.allow[0]: must be a lower-case domain name such as "github.com", or "*." and a domain of at least two labels such as "*.githubusercontent.com" (no IP addresses), got "192.0.2.1"',
        ],
        [
            "a wildcard of one label",
            { slot1: { egress: { allow: ["*.com"] } } },
            expect.stringMatching(
                /^slots\.slot1\.egress\.allow\[0\]: must be a lower-case domain name .*got "\*\.com"$/,
            ),
        ],
        [
            "an unknown key in egress",
            { slot1: { egress: { allow: ["a.example"], deny: [] } } },
            "slots.slot1.egress.deny: unknown key; valid keys of slots.slot1.egress are allow",
        ],
        [
            "a port out of range",
            { slot1: { publish: [{ port: 70000 }] } },
            "slots.slot1.publish[0].port: must be an integer from 1 to 65535, got 70000",
        ],
        [
            "a published port without port",
            { slot1: { publish: [{ to: "tailnet" }] } },
            "slots.slot1.publish[0].port: is required: the TCP port the VM listens on",
        ],
        [
            "an internet port without sources",
            { slot1: { publish: [{ port: 80, to: "internet" }] } },
            "slots.slot1.publish[0].sources: must list who may connect, as IPv4 CIDRs (0.0.0.0/0 for everyone): a port published to the internet is never open by default",
        ],
        [
            "an IPv6 source",
            { slot1: { publish: [{ port: 80, to: "internet", sources: ["2001:db8::/32"] }] } },
            'slots.slot1.publish[0].sources[0]: must be an IPv4 CIDR (the host\'s public address is IPv4), got "2001:db8::/32"',
        ],
        [
            "the host's SSH port",
            { slot1: { publish: [{ port: 22, to: "internet", sources: ["203.0.113.0/24"] }] } },
            "slots.slot1.publish[0].hostPort: 22 is the host's own (22: the host's SSH); choose another host port",
        ],
        [
            "a proxy port",
            { slot1: { publish: [{ port: 80, to: "internet", hostPort: 20001, sources: ["203.0.113.0/24"] }] } },
            "slots.slot1.publish[0].hostPort: 20001 is the host's own (20000-20999: the egress proxy); choose another host port",
        ],
        [
            "a host port for a tailnet port",
            { slot1: { publish: [{ port: 80, to: "tailnet", hostPort: 8080 }] } },
            'slots.slot1.publish[0].hostPort: applies to "to: internet" only; a tailnet port is reached at the VM\'s own address',
        ],
        [
            "two slots on one host port",
            {
                slot1: { publish: [{ port: 80, to: "internet", hostPort: 8080, sources: ["0.0.0.0/0"] }] },
                slot2: { publish: [{ port: 81, to: "internet", hostPort: 8080, sources: ["0.0.0.0/0"] }] },
            },
            "slots.slot2.publish[0].hostPort: 8080 is already published by slot slot1; each host port goes to one published port",
        ],
        [
            "a port published twice",
            { slot1: { publish: [{ port: 80 }, { port: 80, to: "tailnet" }] } },
            "slots.slot1.publish[1]: port 80 is published to the tailnet twice",
        ],
        [
            "a module file that does not exist",
            { slot1: { modules: ["guests/nope"] } },
            'slots.slot1.modules[0]: "guests/nope" names nixos/guests/nope.nix, which does not exist',
        ],
        [
            "a flake input that is not locked",
            { slot1: { modules: ["agent#default"] } },
            'slots.slot1.modules[0]: "agent#default" names the flake input "agent", which nixos/flake.lock does not have (inputs: microvm, nixpkgs); add it to nixos/flake.nix and run nix flake lock',
        ],
        [
            "a malformed module reference",
            { slot1: { modules: ["../etc/x.nix"] } },
            'slots.slot1.modules[0]: must be "guests/<name>" (a file nixos/guests/<name>.nix) or "<input>#<attr>" (one of the nixosModules a flake input of nixos/flake.nix exports, nixos/rules/runtime.json nixosModules; "<input>" alone means #default), got "../etc/x.nix"',
        ],
        // microvm.nix and nixpkgs export no nixosModules.default at their pins (runtime.json cites where).
        [
            "an input alone, which has no default module",
            { slot1: { modules: ["microvm"] } },
            'slots.slot1.modules[0]: "microvm": the flake input "microvm" has no nixosModules.default at its pinned revision; it exports "microvm#host", "microvm#microvm", "microvm#microvm-options"',
        ],
        [
            "nixpkgs alone",
            { slot1: { modules: ["nixpkgs"] } },
            'slots.slot1.modules[0]: "nixpkgs": the flake input "nixpkgs" has no nixosModules.default at its pinned revision; it exports "nixpkgs#notDetected", "nixpkgs#readOnlyPkgs"',
        ],
        [
            "a module the input does not export",
            { slot1: { modules: ["microvm#default"] } },
            'slots.slot1.modules[0]: "microvm#default": the flake input "microvm" has no nixosModules.default at its pinned revision; it exports "microvm#host", "microvm#microvm", "microvm#microvm-options"',
        ],
    ])("%s", (_what, slots, message) => {
        expect(problems(slots)).toEqual([message]);
    });
});

describe("where the workload keys go", () => {
    test("internet-published ports become security group rules, one per source; tailnet ports do not", () => {
        const rules = hostSecurityRules(["203.0.113.0/24"], true, [
            { slot: "slot1", hostPort: 8080, sources: ["198.51.100.0/24", "192.0.2.7/32"] },
        ]);
        expect(
            rules
                .filter((r) => r.key.startsWith("publish-"))
                .map((r) => [r.key, r.fromPort, r.toPort, r.ipProtocol, r.cidrIpv4]),
        ).toEqual([
            ["publish-slot1-8080-198-51-100-0-24", 8080, 8080, "tcp", "198.51.100.0/24"],
            ["publish-slot1-8080-192-0-2-7-32", 8080, 8080, "tcp", "192.0.2.7/32"],
        ]);
        expect(() =>
            hostSecurityRules([], true, [{ slot: "slot1", hostPort: 8080, sources: ["198.51.100.7/24"] }]),
        ).toThrow('published slot1:8080 sources[0] "198.51.100.7/24" has host bits set');
    });

    test("a slot publishing tailnet ports gets a grant for those ports only; admins keep the whole slot", () => {
        const doc = tailnetPolicy({
            tags: ["tag:microvm-host"],
            slots: [
                { name: "slot1", subnet: "10.1.0.0/24" },
                { name: "slot2", subnet: "10.2.0.0/24", tailnetPorts: [8080, 443, 8080] },
            ],
        });
        expect(doc.grants.filter((g) => g.dst[0] !== "tag:microvm-host")).toEqual([
            { src: ["autogroup:member"], dst: ["10.1.0.0/24"], ip: ["*"] },
            { src: ["autogroup:member"], dst: ["10.2.0.0/24"], ip: ["tcp:443", "tcp:8080"] },
            { src: ["autogroup:admin"], dst: ["10.2.0.0/24"], ip: ["*"] },
        ]);
    });

    test("infra.json carries the workload fields only where set; the security group opens the published port", async () => {
        const plan = (await slot2Workload()).after;
        const slots = JSON.parse(plan.files["nixos/infra.json"]).slots;
        expect(slots.find((s: any) => s.name === "slot2")).toMatchObject({
            egress: { policy: "allowlist", domains: ["github.com", "*.githubusercontent.com"] },
            publish: [
                { port: 8080, to: "tailnet" },
                { port: 3000, to: "internet", hostPort: 8443, sources: ["198.51.100.0/24"] },
            ],
            modules: ["guests/dev-tools"],
        });
        expect(Object.keys(slots.find((s: any) => s.name === "slot4"))).not.toEqual(
            expect.arrayContaining(["egress", "publish", "modules"]),
        );
        const ingress = byType(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs);
        expect(ingress).toContainEqual(
            expect.objectContaining({ fromPort: 8443, toPort: 8443, ipProtocol: "tcp", cidrIpv4: "198.51.100.0/24" }),
        );
    });
});

function exampleWith(): (doc: StackDoc) => void {
    return (doc) => {
        doc.config["microvm-infra:slots"].slot2 = {
            egress: { allow: ["github.com", "*.githubusercontent.com"] },
            publish: [
                { port: 8080, to: "tailnet" },
                { port: 3000, to: "internet", hostPort: 8443, sources: ["198.51.100.0/24"] },
            ],
            modules: ["guests/dev-tools"],
        };
    };
}

/** The example with slot2's workload: planned once, read by both describes. */
const slot2Workload = sharedEdit(exampleWith());

describe("an edit touches only the slots it names", () => {
    test("declaring slot2's workload changes the deployment, the slot map stays, no state and no other slot's resource moves", async () => {
        const { diff } = await slot2Workload();
        expect(diff.create.map((c) => c.urn.split("::").pop())).toEqual(["microvm-publish-slot2-8443-198-51-100-0-24"]);
        expect(diff.replace.map((c) => c.urn.split("::").pop())).toEqual(["microvm-bundle", "microvm-switch"]);
        expect(diff.update).toEqual([]);
        expect(diff.delete).toEqual([]);
    });
});
