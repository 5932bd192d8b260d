/**
 * The Tailscale components on their own, under the mock runtime with a stand-in deployment and a
 * host whose status we choose: dependencies, the device id used, the name-collision warning, and
 * that the auth key stays secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { authKeyArgsProblem, authKeyDescription, HostAuthKey } from "../../components/tailscale/authKey";
import { routesProblem, SubnetRouter } from "../../components/tailscale/subnetRouter";
import { Recorder, settle, startMockRuntime } from "../../tools/plan/mockRuntime";

/** A deployment-like component: one remote command that the router must wait for. */
class StandInDeployment extends pulumi.ComponentResource {
    constructor(name: string) {
        super("test:deploy:StandIn", name, {});
        new remote.Command(`${name}-switch`, { connection: { host: "192.0.2.1" }, create: "true" }, { parent: this });
        this.registerOutputs({});
    }
}

function hostStatus(dnsName: string, nodeId = "nHost7CNTRL"): string {
    return JSON.stringify({
        BackendState: "Running",
        Self: { ID: nodeId, HostName: "microvm-host", DNSName: `${dnsName}.`, TailscaleIPs: ["100.64.0.9"] },
    });
}

/**
 * Starts the mock runtime; the host answers `stdout` to the status command, and the Tailscale API
 * lists `devices` (what `getDevices` reads live on every run).
 */
async function runtimeWithHost(stdout: string, devices: { nodeId: string; name: string }[] = []): Promise<Recorder> {
    const recorder = await startMockRuntime("microvm-infra", "test", {}, []);
    const original = recorder.mocks.newResource;
    recorder.mocks.newResource = (args) => {
        const answer = original(args) as { id: string; state: Record<string, any> };
        return args.name.endsWith("-tailscale-status") ? { ...answer, state: { ...answer.state, stdout } } : answer;
    };
    const call = recorder.mocks.call;
    recorder.mocks.call = (args) =>
        args.token === "tailscale:index/getDevices:getDevices" ? { id: "devices", devices } : call(args);
    return recorder;
}

function routerArgs() {
    return {
        connection: { host: "192.0.2.1" },
        hostname: "microvm-host",
        routes: ["10.1.0.0/24", "10.6.0.0/24"],
        tags: ["tag:microvm-host"],
        hostTriggers: ["i-0123"],
    };
}

function value<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

describe("SubnetRouter", () => {
    afterEach(() => jest.restoreAllMocks());

    test("waits for the deployment's commands and approves routes on the node the host reports", async () => {
        const recorder = await runtimeWithHost(hostStatus("microvm-host.example.ts.net"));
        const deployment = new StandInDeployment("deploy");
        const router = new SubnetRouter("microvm", routerArgs(), { dependsOn: [deployment] });
        const deviceId = await value(router.deviceId);
        await settle();
        const byName = (n: string) => recorder.resources.find((r) => r.name === n)!;
        expect(byName("microvm-tailscale-status").options.dependsOn).toContain(byName("deploy-switch").urn);
        expect(deviceId).toBe("nHost7CNTRL");
        expect(byName("microvm-routes").inputs).toEqual({
            deviceId: "nHost7CNTRL",
            routes: ["10.1.0.0/24", "10.6.0.0/24"],
        });
        expect(byName("microvm-device-key").inputs).toEqual({ deviceId: "nHost7CNTRL", keyExpiryDisabled: true });
        expect(byName("microvm-device-tags").inputs).toEqual({ deviceId: "nHost7CNTRL", tags: ["tag:microvm-host"] });
        expect(byName("microvm-tailscale-status").inputs.triggers).toEqual(["i-0123"]);
        // A preview ignores the status command's connection and script: its last output, the node id, stays known.
        expect(byName("microvm-tailscale-status").options.ignoreChanges).toEqual(["connection", "create"]);
    });

    test("`pulumi up` (not a preview) ignores nothing: the status command runs with the connection of the day", async () => {
        const recorder = new Recorder();
        await pulumi.runtime.setMocks(recorder.mocks, "microvm-infra", "test", false);
        recorder.attach();
        new SubnetRouter("microvm", routerArgs());
        await settle();
        expect(recorder.resources.find((r) => r.name === "microvm-tailscale-status")!.options.ignoreChanges).toEqual(
            [],
        );
    });

    test("a host that joined under a suffixed name: routes still go to its own node, with a warning that explains", async () => {
        const joined = hostStatus("microvm-host-1.example.ts.net", "nNewHostCNTRL");
        await runtimeWithHost(joined, [
            { nodeId: "nOldHostCNTRL", name: "microvm-host.example.ts.net" },
            { nodeId: "nNewHostCNTRL", name: "microvm-host-1.example.ts.net" },
        ]);
        const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
        const router = new SubnetRouter("microvm", routerArgs());
        expect(await value(router.deviceId)).toBe("nNewHostCNTRL");
        expect(await value(router.dnsName)).toBe("microvm-host-1.example.ts.net");
        await settle();
        const messages = warn.mock.calls.map(([m]) => m);
        expect(messages).toEqual([expect.stringContaining("is named microvm-host-1.example.ts.net, not microvm-host")]);
    });

    test("once the device is renamed, the warning is gone, though the status kept in state still has the old name", async () => {
        const joined = hostStatus("microvm-host-1.example.ts.net", "nNewHostCNTRL");
        await runtimeWithHost(joined, [{ nodeId: "nNewHostCNTRL", name: "microvm-host.example.ts.net" }]);
        const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
        const router = new SubnetRouter("microvm", routerArgs());
        await value(router.deviceId);
        await settle();
        expect(warn).not.toHaveBeenCalled();
    });

    test("deleting the device key and tags never calls the API (re-enabling expiry, untagging a tagged device)", async () => {
        const recorder = await runtimeWithHost(hostStatus("microvm-host.example.ts.net"));
        const router = new SubnetRouter("microvm", routerArgs());
        await value(router.deviceId);
        await settle();
        const byName = (n: string) => recorder.resources.find((r) => r.name === n)!;
        expect(byName("microvm-device-key").options.retainOnDelete).toBe(true);
        expect(byName("microvm-device-tags").options.retainOnDelete).toBe(true);
        expect(byName("microvm-routes").options.retainOnDelete).toBe(false);
    });

    test("the host's own name: no warning", async () => {
        await runtimeWithHost(hostStatus("microvm-host.example.ts.net"));
        const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
        const router = new SubnetRouter("microvm", routerArgs());
        await value(router.deviceId);
        await settle();
        expect(warn).not.toHaveBeenCalled();
    });

    test.each([
        [["10.1.0.0/24", "10.2.0.0/24"], undefined],
        [[], undefined],
        [["10.1.0.0/24", "10.1.0.0"], 'routes must be IPv4 CIDRs such as 10.1.0.0/24, got "10.1.0.0"'],
        [["fd00::/64"], 'routes must be IPv4 CIDRs such as 10.1.0.0/24, got "fd00::/64"'],
        [["10.1.0.5/24"], 'routes must be IPv4 CIDRs such as 10.1.0.0/24, got "10.1.0.5/24"'],
        [["10.1.0.0/24", "10.1.0.0/24"], 'routes must not repeat, got "10.1.0.0/24" twice'],
    ])("routesProblem(%j)", (routes, expected) => {
        expect(routesProblem(routes)).toBe(expected);
    });

    test("refuses bad routes before declaring anything", async () => {
        await runtimeWithHost("{}");
        expect(() => new SubnetRouter("microvm", { ...routerArgs(), routes: ["10.1.0.0/33"] })).toThrow(
            'SubnetRouter microvm: routes must be IPv4 CIDRs such as 10.1.0.0/24, got "10.1.0.0/33"',
        );
    });
});

describe("HostAuthKey", () => {
    test("its key is a secret output", async () => {
        await runtimeWithHost("{}");
        const key = new HostAuthKey("microvm", { tags: ["tag:microvm-host"], machineId: "i-0123456789abcdef0" });
        expect(await (key.key as unknown as { isSecret: Promise<boolean> }).isSecret).toBe(true);
        await settle();
    });

    test("the description names the machine, so a new machine gets a new key", () => {
        expect(authKeyDescription("i-0123456789abcdef0")).toBe("microvm host i0123456789abcdef0");
        expect(authKeyDescription("i-0123456789abcdef0")).not.toBe(authKeyDescription("i-0fedcba9876543210"));
        expect(authKeyDescription("x".repeat(80))).toHaveLength(50);
    });

    test.each([
        [{ tags: ["tag:microvm-host"] }, undefined],
        [
            { tags: [] },
            "tags must hold at least one tag such as tag:microvm-host: an untagged key would make the host belong to the person who created the key",
        ],
        [
            { tags: ["microvm-host"] },
            `tags must be a Tailscale tag such as "tag:microvm-host" (a letter, then letters, digits, '-'), got "microvm-host"`,
        ],
        [
            { tags: ["tag:a"], expirySeconds: 60 },
            "expirySeconds must be a whole number of seconds from 3600 (1 hour) to 7776000 (90 days), got 60",
        ],
        [
            { tags: ["tag:a"], expirySeconds: 7776001 },
            "expirySeconds must be a whole number of seconds from 3600 (1 hour) to 7776000 (90 days), got 7776001",
        ],
    ])("authKeyArgsProblem(%j)", (args, expected) => {
        expect(authKeyArgsProblem(args)).toBe(expected);
    });
});
