/** The exposition format, from lib/metrics/vm-state.json. */
import { readFileSync } from "fs";
import { join } from "path";
import { replicaTime } from "../../../vm-state/src/metrics/collect";
import { escapeLabel, metricDefs, renderMetrics } from "../../../vm-state/src/metrics/exposition";
import { repo } from "./harness";

describe("metrics exposition", () => {
    test("every family of the table, in its order, with HELP and TYPE, even without a sample", () => {
        const table = JSON.parse(readFileSync(join(repo, "lib/metrics/vm-state.json"), "utf8")) as {
            metrics: { name: string; type: string; help: string }[];
        };
        const text = renderMetrics(new Map());
        expect(text.split("\n").filter((l) => l.startsWith("# TYPE"))).toEqual(
            table.metrics.map((m) => `# TYPE ${m.name} ${m.type}`),
        );
        expect(text.split("\n").filter((l) => l.startsWith("# HELP"))).toEqual(
            table.metrics.map((m) => `# HELP ${m.name} ${m.help}`),
        );
        expect(metricDefs).toEqual(table.metrics);
    });

    test("samples with the family's labels in the table's order, values as numbers", () => {
        const text = renderMetrics(
            new Map([
                ["vm_state_state_info", [{ labels: { slot: "slot1", state: "web" }, value: 1 }]],
                ["vm_state_last_operation_duration_seconds", [{ labels: { command: "apply" }, value: 0.25 }]],
                ["vm_state_up", [{ value: 1 }]],
            ]),
        );
        expect(text).toContain('\nvm_state_state_info{state="web",slot="slot1"} 1\n');
        expect(text).toContain('\nvm_state_last_operation_duration_seconds{command="apply"} 0.25\n');
        expect(text).toContain("\nvm_state_up 1\n");
    });

    test("a metric outside the table, or other labels, is a bug caught before anything is written", () => {
        expect(() => renderMetrics(new Map([["vm_state_other", [{ value: 1 }]]]))).toThrow(
            "not in lib/metrics/vm-state.json",
        );
        expect(() => renderMetrics(new Map([["vm_state_up", [{ labels: { state: "x" }, value: 1 }]]]))).toThrow(
            "takes the labels none",
        );
    });

    test("label values are escaped as the format says", () => {
        expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    });

    test("a replica copy's time comes from its name", () => {
        expect(replicaTime("_replica-big-20240101-120000")).toBe(1704110400);
        expect(replicaTime("_replica-big-20240101-120000-2")).toBe(1704110400);
        expect(replicaTime("autosnap_2024")).toBeUndefined();
    });
});
