/**
 * What `npm run plan` and the pull-request review say about observability: the services, ports,
 * memory and disk each host gets, what turning it on or off adds or removes, the ports as
 * security changes, and that it restarts no VM.
 */
import { readFileSync } from "fs";
import { parse } from "yaml";
import { diffPlans } from "../../tools/plan/diff";
import { renderReview } from "../../tools/plan/markdown";
import { observabilityPlanLines } from "../../tools/plan/observability";
import { renderPlan } from "../../tools/plan/render";
import { reviewChange } from "../../tools/plan/review";
import { Plan, planStack } from "../../tools/plan/run";
import { repoPath } from "../helpers/paths";
import { examplePlan, exampleStack, planDoc, StackDoc } from "../helpers/stacks";

const off = (d: StackDoc) => {
    d.config["microvm-infra:observability"].enabled = false;
};
const edited = (edit: (d: StackDoc) => void): Promise<Plan> => {
    const doc = exampleStack();
    edit(doc);
    return planDoc(doc);
};
const review = (before: Plan, after: Plan) => reviewChange(before, after, diffPlans(before.resources, after.resources));
const changed = (cs: { urn: string }[]) => cs.map((c) => c.urn.split("::").pop()).sort();

let offPlan: Promise<Plan> | undefined;
const planOff = () => (offPlan ??= edited(off));

describe("npm run plan", () => {
    test("the example says what each host runs, opens and keeps for observability", async () => {
        const text = renderPlan(await examplePlan());
        expect(text).toContain(
            [
                "Observability: on, reachable on the tailnet only; alerts are only shown, in Alertmanager and Grafana (no alertWebhookUrl)",
                "  main (collector): Prometheus :9090, Alertmanager :9093, Grafana :3000, node exporter :9100, metric timers; 1920 MiB of memory, 12 GiB of the root disk",
                "  metrics kept 15 days (at most 8 GiB); logs 14 days (at most 4 GiB per host)",
            ].join("\n"),
        );
    });

    test("off, one line says so", async () => {
        expect(renderPlan(await planOff())).toContain("\nObservability: off (observability.enabled)\n");
    });

    test("a fleet: the collector first, the agent with the node exporter only; a webhook set as a secret is named, never shown", async () => {
        const plan = await planStack(repoPath("tests/fixtures/stacks/observability.yaml"), "dev");
        expect(observabilityPlanLines(plan.config, Object.keys(plan.stackFile.config))).toEqual([
            "Observability: on, reachable on the tailnet only; alerts are delivered to the webhook (alertWebhookUrl) and shown in Alertmanager and Grafana",
            "  big (collector): Prometheus :9090, Alertmanager :9093, Grafana :3000, node exporter :9100, metric timers; 1920 MiB of memory, 18 GiB of the root disk",
            "  main (agent): node exporter :9100, metric timers; 256 MiB of memory, 2 GiB of the root disk",
            "  metrics kept 30 days (at most 16 GiB); logs 7 days (at most 2 GiB per host)",
        ]);
    });
});

describe("the review", () => {
    test("turning it on: a section with what each host runs, the tailnet ports under security, no VM restarted, nothing created or deleted", async () => {
        const r = review(await planOff(), await examplePlan());
        expect(r.observability).toEqual([
            "Turned on. Each host runs:",
            "main (collector): Prometheus :9090, Alertmanager :9093, Grafana :3000, node exporter :9100, metric timers; 1920 MiB of memory, 12 GiB of the root disk",
            "Alerts are only shown, in Alertmanager and Grafana (no alertWebhookUrl).",
        ]);
        expect(r.security).toEqual([
            "tailnet: opens TCP 3000 (Grafana) on main",
            "tailnet: opens TCP 9090 (Prometheus) on main",
            "tailnet: opens TCP 9093 (Alertmanager) on main",
            "tailnet: opens TCP 9100 (node exporter) on main",
        ]);
        expect(r.slots.filter((s) => s.change !== "unchanged")).toEqual([]);
        expect(r.diff.create).toEqual([]);
        expect(r.diff.delete).toEqual([]);
        expect(changed(r.diff.replace)).toEqual(["microvm-bundle", "microvm-switch"]);
        const md = renderReview(r, "test");
        expect(md).toContain(
            "#### Observability\n\n- Turned on. Each host runs:\n- main (collector): Prometheus :9090",
        );
        expect(md).toContain("#### Security\n\n- tailnet: opens TCP 3000 (Grafana) on main\n");
        expect(md).toContain("| `microvm-infra:observability.enabled` | `false` -> `true` |");
    });

    test("turning it off: what stops and the memory freed, the ports closed, and that the data stays", async () => {
        const r = review(await examplePlan(), await planOff());
        expect(r.observability).toEqual([
            "Turned off: main stops Prometheus :9090, Alertmanager :9093, Grafana :3000, node exporter :9100, metric timers and frees 1920 MiB. Prometheus' data and the journal stay on the root disk until removed by hand.",
        ]);
        expect(r.security).toEqual([
            "tailnet: closes TCP 3000 (Grafana) on main",
            "tailnet: closes TCP 9090 (Prometheus) on main",
            "tailnet: closes TCP 9093 (Alertmanager) on main",
            "tailnet: closes TCP 9100 (node exporter) on main",
        ]);
    });

    test("adding the webhook: alerts are delivered from now on; the secret is named, not shown, and only the secrets and the switch run", async () => {
        const withWebhook = await edited((d) => {
            d.config["microvm-infra:alertWebhookUrl"] = { secure: "v1:UNIQUE-WEBHOOK-CIPHERTEXT" };
        });
        const r = review(await examplePlan(), withWebhook);
        expect(r.observability).toEqual([
            "From now on, alerts are delivered to the webhook (alertWebhookUrl) and shown in Alertmanager and Grafana.",
        ]);
        expect(r.security).toEqual([]);
        expect(r.config).toEqual([
            { key: "microvm-infra:alertWebhookUrl", change: "added", after: undefined, secret: true },
        ]);
        const md = renderReview(r, "test");
        expect(md).toContain("| `microvm-infra:alertWebhookUrl` | added (secret, value not shown) |");
        expect(md).not.toContain("UNIQUE-WEBHOOK-CIPHERTEXT");
        // The secrets command runs again (its input changed: the new file's path, its stdin's digest); the new infra.json is switched to.
        expect(changed(r.diff.update)).toEqual(["microvm-secrets"]);
        expect(changed(r.diff.replace)).toEqual(["microvm-bundle", "microvm-switch"]);
    });

    test("an unrelated edit has no observability section", async () => {
        const r = review(
            await examplePlan(),
            await edited((d) => {
                d.config["microvm-infra:slots"].slot3 = { memMiB: 2048 };
            }),
        );
        expect(r.observability).toEqual([]);
        expect(renderReview(r, "test")).not.toContain("#### Observability");
    });

    test("moving the collector in a fleet: both hosts change, the collector's ports move with it", async () => {
        const fixture = repoPath("tests/fixtures/stacks/observability.yaml");
        const before = await planStack(fixture, "dev");
        const doc: StackDoc = parse(readFileSync(fixture, "utf8"));
        doc.config["microvm-infra:observability"].collector = "main";
        const r = review(before, await planDoc(doc));
        expect(r.observability).toEqual([
            "main (collector): Prometheus :9090, Alertmanager :9093, Grafana :3000, node exporter :9100, metric timers; 1920 MiB of memory, 18 GiB of the root disk (was: node exporter :9100, metric timers; 256 MiB of memory, 2 GiB of the root disk)",
            "big (agent): node exporter :9100, metric timers; 256 MiB of memory, 2 GiB of the root disk (was: Prometheus :9090, Alertmanager :9093, Grafana :3000, node exporter :9100, metric timers; 1920 MiB of memory, 18 GiB of the root disk)",
        ]);
        expect(r.security).toEqual([
            "tailnet: closes TCP 3000 (Grafana) on big",
            "tailnet: closes TCP 9090 (Prometheus) on big",
            "tailnet: closes TCP 9093 (Alertmanager) on big",
            "tailnet: opens TCP 3000 (Grafana) on main",
            "tailnet: opens TCP 9090 (Prometheus) on main",
            "tailnet: opens TCP 9093 (Alertmanager) on main",
        ]);
    });
});
