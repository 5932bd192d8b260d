/**
 * The Tailscale part of the whole program, planned under the mock runtime like `npm run plan`:
 * what is declared, with which properties, in which order, and what a slot change does to it.
 */
import { renderTailnetPolicy, tailnetPolicy } from "../../components/tailscale/policy";
import { topology } from "../../infra/topology";
import { placeholder } from "../../tools/plan/mockOutputs";
import { Plan } from "../../tools/plan/run";
import { defaultSlot } from "../helpers/slots";
import { byType, examplePlan, exampleStack, one, planDoc, planEdit, StackDoc } from "../helpers/stacks";

const T = {
    key: "tailscale:index/tailnetKey:TailnetKey",
    routes: "tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes",
    deviceKey: "tailscale:index/deviceKey:DeviceKey",
    tags: "tailscale:index/deviceTags:DeviceTags",
    acl: "tailscale:index/acl:Acl",
    command: "command:remote:Command",
};

const statusCommand = (plan: Plan) => one(plan, T.command, "microvm-tailscale-status");
const approved = (plan: Plan) => one(plan, T.routes).inputs.routes as string[];
/** The bundle's infra.json, wherever the deployment puts it in the bundle. */
function infraJson(plan: Plan): any {
    const paths = Object.keys(plan.files).filter((p) => /(^|\/)infra\.json$/.test(p));
    expect(paths).toHaveLength(1);
    return JSON.parse(plan.files[paths[0]]);
}
const slotSubnets = (plan: Plan) => plan.topology.slots.map((s) => s.subnet);

function addSlot6(doc: StackDoc): void {
    doc.config["microvm-infra:slots"].slot6 = {};
}

describe("Tailscale in the example stack", () => {
    let plan: Plan;
    beforeAll(async () => {
        plan = await examplePlan();
    });

    test("the approved routes are exactly the topology's subnets, in slot order", () => {
        expect(approved(plan)).toEqual(["10.1.0.0/24", "10.2.0.0/24", "10.3.0.0/24", "10.4.0.0/24", "10.5.0.0/24"]);
        expect(approved(plan)).toEqual(slotSubnets(plan));
    });

    test("the host advertises (infra.json) the same list that Pulumi approves", () => {
        expect(infraJson(plan).tailscale.advertiseRoutes).toEqual(approved(plan));
    });

    test("the auth key is tagged, pre-authorized, single use, not ephemeral, and never re-minted once used", () => {
        const key = one(plan, T.key);
        expect(key.inputs).toMatchObject({
            reusable: false,
            ephemeral: false,
            preauthorized: true,
            tags: ["tag:microvm-host"],
            recreateIfInvalid: "never",
        });
        expect(key.inputs.description).toMatch(/^microvm host [A-Za-z0-9]*$/);
        expect(key.options.additionalSecretOutputs).toContain("key");
    });

    test("the auth key's value appears in no input of any resource and in no file pushed in the bundle", () => {
        const keyText = placeholder("tailscale auth key");
        for (const r of plan.resources) {
            expect({ urn: r.urn, inputs: JSON.stringify(r.inputs) }).not.toEqual({
                urn: r.urn,
                inputs: expect.stringContaining(keyText),
            });
        }
        for (const [path, content] of Object.entries(plan.files)) {
            expect({ path, content }).not.toEqual({ path, content: expect.stringContaining(keyText) });
        }
        // In particular the instance's user-data, wherever the host declares it.
        const userData = plan.resources.flatMap((r) =>
            Object.entries(r.inputs)
                .filter(([k]) => /userdata/i.test(k))
                .map(([, v]) => JSON.stringify(v)),
        );
        for (const text of userData) {
            expect(text).not.toContain(keyText);
            expect(text).not.toContain("tskey-");
        }
    });

    test("routes, key expiry and tags are set on the device the host reports, after it has joined", () => {
        const status = statusCommand(plan);
        for (const type of [T.routes, T.deviceKey, T.tags]) {
            const r = one(plan, type);
            expect(r.inputs.deviceId).toBe("nPlaceholder1CNTRL");
            expect(r.options.dependsOn).toContain(status.urn);
        }
        expect(one(plan, T.deviceKey).inputs.keyExpiryDisabled).toBe(true);
        expect(one(plan, T.tags).inputs.tags).toEqual(["tag:microvm-host"]);
    });

    test("the status command runs once per machine: its trigger is the instance (the tailnet name is an argument of its script)", () => {
        const status = statusCommand(plan);
        const host = plan.resources.find((r) => r.type === "aws:ec2/instance:Instance");
        expect(status.inputs.triggers).toEqual([expect.any(String)]);
        expect(status.inputs.create).toMatch(/^set -- 'microvm-host' /);
        if (host) {
            expect(status.propertyDependencies.triggers).toContain(host.urn);
        }
        expect(status.inputs.logging).toBe("stderr");
        expect(status.options.additionalSecretOutputs).toContain("stdout");
    });

    test("the status command waits for every resource of the deployment", () => {
        const deployment = one(plan, "microvm-infra:nixos:Deployment");
        const under = new Set([deployment.urn]);
        for (const r of plan.resources) {
            if (under.has(r.parent)) {
                under.add(r.urn);
            }
        }
        const deploymentResources = plan.resources.filter((r) => r.custom && under.has(r.urn)).map((r) => r.urn);
        expect(statusCommand(plan).options.dependsOn).toEqual(expect.arrayContaining(deploymentResources));
    });

    test("no tailnet policy unless asked for", () => {
        expect(byType(plan, T.acl)).toEqual([]);
    });
});

describe("slot changes", () => {
    test("adding slot6 approves its route in the same update, advertised from the same list, without re-running SSH or a new key", async () => {
        const { after, diff } = await planEdit(addSlot6);
        expect(approved(after)).toEqual([...slotSubnets(after)]);
        expect(approved(after)).toContain("10.6.0.0/24");
        expect(infraJson(after).tailscale.advertiseRoutes).toEqual(approved(after));
        const routesUrn = one(after, T.routes).urn;
        expect(diff.update.find((c) => c.urn === routesUrn)?.paths).toEqual(["routes[5]"]);
        expect(diff.replace.map((c) => c.urn)).not.toContain(routesUrn);
        for (const urn of [
            statusCommand(after).urn,
            one(after, T.key).urn,
            one(after, T.deviceKey).urn,
            one(after, T.tags).urn,
        ]) {
            expect(diff.unchanged).toContain(urn);
        }
    });

    test("removing a slot removes its route", async () => {
        const { after, diff } = await planEdit((doc) => {
            delete doc.config["microvm-infra:slots"].slot3;
        });
        expect(approved(after)).toEqual(["10.1.0.0/24", "10.2.0.0/24", "10.4.0.0/24", "10.5.0.0/24"]);
        expect(infraJson(after).tailscale.advertiseRoutes).toEqual(approved(after));
        expect(diff.update.map((c) => c.urn)).toContain(one(after, T.routes).urn);
        expect(diff.unchanged).toContain(statusCommand(after).urn);
    });
});

describe("tailscale.enabled: false", () => {
    test("declares no Tailscale resource and advertises nothing", async () => {
        const doc = exampleStack();
        doc.config["microvm-infra:tailscale"].enabled = false;
        // Observability is reachable only on the tailnet: without Tailscale it must be off (observability-config.test.ts).
        doc.config["microvm-infra:observability"].enabled = false;
        const plan = await planDoc(doc);
        const tailscaleResources = plan.resources.filter(
            (r) => r.type.startsWith("tailscale:") || r.type.startsWith("microvm-infra:tailscale:"),
        );
        expect(tailscaleResources.map((r) => r.urn)).toEqual([]);
        expect(
            plan.resources
                .filter((r) => r.type.startsWith("command:") && r.name.includes("tailscale"))
                .map((r) => r.urn),
        ).toEqual([]);
        expect(infraJson(plan).tailscale).toMatchObject({ enabled: false, advertiseRoutes: [] });
        const udp = plan.resources.filter(
            (r) =>
                r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.inputs.ipProtocol === "udp",
        );
        expect(udp).toEqual([]);
    });
});

describe("tailscale.managePolicy: true", () => {
    let plan: Plan;
    beforeAll(async () => {
        const doc = exampleStack();
        doc.config["microvm-infra:tailscale"].managePolicy = true;
        addSlot6(doc);
        plan = await planDoc(doc);
    });

    test("applies the policy generated from the same slot list", () => {
        const acl = one(plan, T.acl);
        const slots = plan.topology.slots.map((s) => ({
            name: s.name,
            subnet: s.subnet,
            tailnetPorts: s.publish.filter((p) => p.to === "tailnet").map((p) => p.port),
        }));
        expect(slots.find((s) => s.name === "slot4")!.tailnetPorts).toEqual([8080]);
        // The example turns observability on: admins reach the collector's ports (observability-policy.test.ts).
        const observability = { adminPorts: [9090, 9093, 3000], hostPorts: [] };
        expect(acl.inputs.acl).toBe(
            renderTailnetPolicy(tailnetPolicy({ tags: ["tag:microvm-host"], slots, observability })),
        );
        expect(Object.keys(JSON.parse(acl.inputs.acl as string).autoApprovers.routes)).toEqual(approved(plan));
        expect(acl.inputs).toMatchObject({ overwriteExistingContent: true, resetAclOnDestroy: false });
    });

    test("the policy is in place before the tagged key is created and before routes are approved", () => {
        const acl = one(plan, T.acl);
        expect(one(plan, T.key).options.dependsOn).toContain(acl.urn);
        expect(statusCommand(plan).options.dependsOn).toContain(acl.urn);
    });
});

test("the topology's routes are what the program approves for any slot list", async () => {
    const doc = exampleStack();
    doc.config["microvm-infra:slots"] = { slot2: {}, web: { index: 40 }, slot9: {} };
    doc.config["microvm-infra:states"] = {};
    const plan = await planDoc(doc);
    expect(approved(plan)).toEqual(
        topology([defaultSlot("slot2", 2), defaultSlot("slot9", 9), defaultSlot("web", 40)]).routes,
    );
    expect(infraJson(plan).tailscale.advertiseRoutes).toEqual(approved(plan));
});
