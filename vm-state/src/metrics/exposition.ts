/**
 * Prometheus text exposition format 0.0.4, for the node exporter's textfile collector. The
 * families, their types, labels and help come from lib/metrics/vm-state.json, the one table the
 * observability stack builds against; every family is written, in the table's order, each with
 * `# HELP` and `# TYPE`, even when it has no sample.
 */
import table from "../../../lib/metrics/vm-state.json";

export interface MetricDef {
    readonly name: string;
    readonly type: string;
    readonly labels: readonly string[];
    readonly help: string;
}

export const metricDefs: readonly MetricDef[] = table.metrics;
export type MetricName = (typeof table.metrics)[number]["name"];

export interface Sample {
    readonly labels?: Readonly<Record<string, string>>;
    readonly value: number;
}

/** A label value as the format escapes it: backslash, double quote, newline. */
export function escapeLabel(value: string): string {
    return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function formatValue(v: number): string {
    if (Number.isNaN(v)) {
        return "NaN";
    }
    if (!Number.isFinite(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    return String(v);
}

/** The text of every family, SAMPLES by name; a sample's labels must be exactly its family's. */
export function renderMetrics(samples: ReadonlyMap<string, readonly Sample[]>): string {
    for (const name of samples.keys()) {
        if (!metricDefs.some((d) => d.name === name)) {
            throw new Error(`metric ${name} is not in lib/metrics/vm-state.json`);
        }
    }
    const out: string[] = [];
    for (const def of metricDefs) {
        out.push(`# HELP ${def.name} ${escapeHelp(def.help)}`, `# TYPE ${def.name} ${def.type}`);
        for (const sample of samples.get(def.name) ?? []) {
            const names = Object.keys(sample.labels ?? {});
            if (names.length !== def.labels.length || !def.labels.every((l) => names.includes(l))) {
                throw new Error(
                    `metric ${def.name} takes the labels ${def.labels.join(",") || "none"}, got ${names.join(",") || "none"}`,
                );
            }
            const labels = def.labels.map((l) => `${l}="${escapeLabel(sample.labels![l])}"`).join(",");
            out.push(`${def.name}${labels ? `{${labels}}` : ""} ${formatValue(sample.value)}`);
        }
    }
    return `${out.join("\n")}\n`;
}
