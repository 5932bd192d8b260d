/**
 * Canary for the Pulumi SDK internals this project reaches into (tools/plan/sdk.ts, and
 * `isConfigSecret` in infra/stackConfig.ts): if an SDK upgrade moves one, this file fails, in one
 * place, saying which, instead of the plan silently recording less.
 */
import * as pulumi from "@pulumi/pulumi";
import { isConfigSecret } from "../../infra/stackConfig";
import { currentMonitor, deserializeProperties, secretSig, sigKey, waitForRPCs } from "../../tools/plan/sdk";
import { settle, startMockRuntime } from "../../tools/plan/mockRuntime";

class Probe extends pulumi.CustomResource {
    constructor(name: string, props: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
        super("canary:index:Probe", name, props, opts);
    }
}

/** The options the recorder keeps as they were given (no resource among them); a new object each call. */
const plainOptions = () => ({
    protect: true,
    retainOnDelete: true,
    deleteBeforeReplace: true,
    ignoreChanges: ["plain"],
    replaceOnChanges: ["hidden"],
    additionalSecretOutputs: ["plain"],
    customTimeouts: { create: "7m" },
});

describe("Pulumi SDK internals the offline plan relies on", () => {
    test("the secret marker and the RPC helpers exist", () => {
        expect(sigKey).toMatch(/^[0-9a-f]{32}$/);
        expect(secretSig).toMatch(/^[0-9a-f]{32}$/);
        expect(typeof deserializeProperties).toBe("function");
        expect(typeof waitForRPCs).toBe("function");
    });

    test("a registration request carries everything the recorder reads", async () => {
        const recorder = await startMockRuntime("canary", "test", { "canary:secretKey": "x", "canary:plainKey": "y" }, [
            "canary:secretKey",
        ]);
        expect(typeof currentMonitor().registerResource).toBe("function");
        expect(isConfigSecret("canary:secretKey")).toBe(true);
        expect(isConfigSecret("canary:plainKey")).toBe(false);

        const dep = new Probe("dep", { value: "d" });
        new Probe(
            "probe",
            { plain: "p", hidden: pulumi.secret("s"), fromDep: dep.id },
            { ...plainOptions(), dependsOn: [dep], deletedWith: dep, aliases: [{ name: "probe-before" }] },
        );
        await settle();
        const probe = recorder.resources.find((r) => r.name === "probe")!;
        const depUrn = recorder.resources.find((r) => r.name === "dep")!.urn;
        expect(probe).toMatchObject({
            urn: "urn:pulumi:test::canary::canary:index:Probe::probe",
            type: "canary:index:Probe",
            custom: true,
            inputs: { plain: "p", hidden: "[secret]", fromDep: "dep-id" },
            secretInputs: ["hidden"],
            aliases: ["urn:pulumi:test::canary::canary:index:Probe::probe-before"],
            propertyDependencies: { fromDep: [depUrn] },
            options: { ...plainOptions(), dependsOn: [depUrn], deletedWith: depUrn },
        });
        expect(Object.keys(probe.secretDigests)).toEqual(["hidden"]);
    });
});
