/**
 * observability in infra.json and on the wire: the example stack (on), the same stack off (no
 * block at all), the fleet fixture (a collector and an agent), and the alerts' webhook: pushed to
 * the collector only, in the secrets command's secret stdin, never in infra.json or any input.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../infra/config";
import { alertWebhookEnvText, snapshotPeriodMinutes } from "../../infra/observabilityData";
import { defineInfrastructure } from "../../infra/program";
import { loadStackConfig } from "../../infra/stackConfig";
import { secretsCommand, secretsStdin } from "../../components/deploy/remoteCommands";
import { alertWebhookEnvFile } from "../../lib/observabilityData";
import { settle, startMockRuntime } from "../../tools/plan/mockRuntime";
import { placeholder } from "../../tools/plan/mockOutputs";
import { planStack, project } from "../../tools/plan/run";
import { readStackFile } from "../../tools/plan/stackFile";
import { examplePlan, exampleStack, planDoc, writeStack } from "../helpers/stacks";
import { repoPath } from "../helpers/paths";

const infraJson = (files: Record<string, string>) => JSON.parse(files["nixos/infra.json"]);
const fixture = repoPath("tests/fixtures/stacks/observability.yaml");

describe("infra.json", () => {
    test("the example stack (observability on, one host): main collects itself and expects slot1's daily snapshot", async () => {
        const plan = await examplePlan();
        expect(infraJson(plan.files).observability).toEqual({
            host: "main",
            role: "collector",
            memoryMiB: { prometheus: 1024, alertmanager: 128, grafana: 512, nodeExporter: 128, exporters: 128 },
            ports: { prometheus: 9090, alertmanager: 9093, grafana: 3000, nodeExporter: 9100 },
            logs: { retentionDays: 14, maxGiB: 4 },
            metrics: { retentionDays: 15, maxGiB: 8 },
            scrape: [{ host: "main", tailnetName: "microvm-host" }],
            alerts: {
                volumeFullPercent: 85,
                snapshots: [{ host: "main", state: "slot1", everyMinutes: 1440 }],
                replicas: [],
            },
        });
    });

    test("off, infra.json has no observability block and is otherwise the same", async () => {
        const doc = exampleStack();
        doc.config["microvm-infra:observability"].enabled = false;
        const off = await planDoc(doc);
        const { observability: _on, ...rest } = infraJson((await examplePlan()).files);
        expect(infraJson(off.files)).toEqual(rest);
        expect(off.files["nixos/infra.json"]).not.toContain("observability");
    });

    test("a fleet: the collector scrapes every host (itself first) and knows every state's schedules; the other host is an agent", async () => {
        const plan = await planStack(fixture, "dev");
        const big = JSON.parse(plan.hostFiles.big["nixos/infra.json"]).observability;
        const main = JSON.parse(plan.hostFiles.main["nixos/infra.json"]).observability;
        expect(main).toEqual({
            host: "main",
            role: "agent",
            memoryMiB: { nodeExporter: 128, exporters: 128 },
            ports: { nodeExporter: 9100 },
            logs: { retentionDays: 7, maxGiB: 2 },
        });
        expect(big.scrape).toEqual([
            { host: "big", tailnetName: "microvm-big" },
            { host: "main", tailnetName: "microvm-main" },
        ]);
        expect(big.alerts.snapshots).toEqual([
            { host: "main", state: "slot1", everyMinutes: 60 },
            { host: "big", state: "slot4", everyMinutes: 10080 },
        ]);
        expect(big.alerts.replicas).toEqual([
            { host: "main", state: "slot1", to: "big", everyMinutes: 15 },
            { host: "big", state: "slot4", to: "main", everyMinutes: 60 },
        ]);
        expect(big.alerts.webhook).toEqual({ envFile: alertWebhookEnvFile, variable: "MICROVM_ALERT_WEBHOOK_URL" });
    });

    test("the shortest scheduled period counts; a schedule that keeps nothing expects nothing", () => {
        expect(snapshotPeriodMinutes({ hourly: 0, daily: 7, weekly: 4, monthly: 0 })).toBe(1440);
        expect(snapshotPeriodMinutes({ hourly: 0, daily: 0, weekly: 0, monthly: 3 })).toBe(44640);
        expect(snapshotPeriodMinutes({ hourly: 0, daily: 0, weekly: 0, monthly: 0 })).toBeUndefined();
    });
});

describe("the alerts' webhook", () => {
    const url = "https://hooks.example.com/services/T000/B000/UNIQUEWEBHOOKSECRET";

    test("is a systemd environment file holding one variable", () => {
        expect(alertWebhookEnvText(url)).toBe(`MICROVM_ALERT_WEBHOOK_URL=${url}\n`);
    });

    test("goes to the collector only, in the secrets command's secret stdin, and nowhere else", async () => {
        const stack = readStackFile(fixture, project);
        const key = "microvm-infra:alertWebhookUrl";
        const recorder = await startMockRuntime(project, "dev", { ...stack.config, [key]: url }, stack.secretKeys);
        const program = defineInfrastructure(loadStackConfig());
        const files = await new Promise<Record<string, Record<string, string>>>((resolve) =>
            pulumi
                .all(Object.values(program.hostFiles))
                .apply((all) => resolve(Object.fromEntries(Object.keys(program.hostFiles).map((h, i) => [h, all[i]])))),
        );
        await settle();
        const command = (name: string) =>
            recorder.resources.find((r) => r.type === "command:remote:Command" && r.name === name)!;
        const big = command("microvm-big-secrets");
        const main = command("microvm-secrets"); // main keeps the one-host names
        const bigPaths = [
            "/var/lib/microvm-infra/secrets/alertmanager-webhook.env",
            "/var/lib/microvm-infra/secrets/fleet-transfer-key",
            "/var/lib/microvm-infra/secrets/tailscale-auth-key",
        ];
        expect(big.inputs.create).toBe(secretsCommand(bigPaths));
        expect(main.inputs.create).toBe(secretsCommand(bigPaths.slice(1)));
        expect(big.secretInputs).toContain("stdin");
        // The stdin holds exactly the environment file's text for this URL, beside the mock runtime's
        // other secrets (tools/plan/mockOutputs.ts); compared by digest, as the record never keeps it.
        const stdin = secretsStdin(bigPaths, {
            [bigPaths[0]]: alertWebhookEnvText(url),
            [bigPaths[1]]: placeholder("host private key"),
            [bigPaths[2]]: placeholder("tailscale auth key"),
        });
        expect(big.secretDigests.stdin).toBe(createHash("sha256").update(JSON.stringify(stdin)).digest("hex"));
        const everything = JSON.stringify(recorder.resources.map((r) => r.inputs)) + JSON.stringify(files);
        expect(everything).not.toContain("UNIQUEWEBHOOKSECRET");
        expect(files.big["nixos/infra.json"]).not.toContain("hooks.example.com");
    });

    test("set in clear text, the plan stops with the key named and the value not shown", async () => {
        const raw = exampleStack();
        raw.config["microvm-infra:alertWebhookUrl"] = url;
        const err = await planStack(writeStack(raw), "dev").then(
            () => undefined,
            (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).problems).toEqual([
            "alertWebhookUrl: is stored in clear text in the stack file; remove it (pulumi config rm alertWebhookUrl) and set it again with `pulumi config set --secret alertWebhookUrl https://...`",
        ]);
        expect(String((err as Error).message)).not.toContain("UNIQUEWEBHOOKSECRET");
    });
});
