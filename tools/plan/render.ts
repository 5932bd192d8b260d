/** The human-readable plan: resource tree with key inputs and options, slot table, files, diff. */
import { createHash } from "crypto";
import { commandsRun, PlanDiff } from "./diff";
import { observabilityPlanLines } from "./observability";
import { Review } from "./review";
import { PlannedResource } from "./mockRuntime";
import { Plan } from "./run";

const maxValue = 72;

function short(value: unknown): string {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    const oneLine = text.replace(/\n/g, "\\n");
    return oneLine.length > maxValue ? `${oneLine.slice(0, maxValue - 20)}... (${text.length} chars)` : oneLine;
}

/** AWS tag maps repeat on every resource; Tailscale's tag lists are real settings and stay. */
function isTagMap(key: string, value: unknown): boolean {
    return (
        (key === "tags" || key === "tagsAll") && typeof value === "object" && value !== null && !Array.isArray(value)
    );
}

/** Leaf inputs as `path=value`, skipping AWS tag maps and empty values. */
export function flatInputs(value: unknown, path = ""): string[] {
    if (Array.isArray(value)) {
        return value.length === 0
            ? []
            : value.every((v) => typeof v !== "object" || v === null)
              ? [`${path}=${short(value)}`]
              : value.flatMap((v, i) => flatInputs(v, `${path}[${i}]`));
    }
    if (typeof value === "object" && value !== null) {
        return Object.entries(value)
            .filter(([k, v]) => path !== "" || !isTagMap(k, v))
            .flatMap(([k, v]) => flatInputs(v, path ? `${path}.${k}` : k));
    }
    return value === undefined || value === "" ? [] : [`${path}=${short(value)}`];
}

function optionFlags(r: PlannedResource): string[] {
    const o = r.options;
    return [
        o.protect ? "protect" : "",
        o.retainOnDelete ? "retainOnDelete" : "",
        o.deleteBeforeReplace ? "deleteBeforeReplace" : "",
        o.ignoreChanges.length ? `ignoreChanges=${o.ignoreChanges.join(",")}` : "",
        o.replaceOnChanges.length ? `replaceOnChanges=${o.replaceOnChanges.join(",")}` : "",
        o.deletedWith ? `deletedWith=${o.deletedWith.split("::").pop()}` : "",
    ].filter(Boolean);
}

function tree(resources: readonly PlannedResource[]): string[] {
    const children = new Map<string, PlannedResource[]>();
    for (const r of resources) {
        children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
    }
    const lines: string[] = [];
    const walk = (parent: string, depth: number): void => {
        for (const r of children.get(parent) ?? []) {
            const pad = "  ".repeat(depth + 1);
            const flags = optionFlags(r);
            lines.push(`${pad}${r.type}  ${r.name}${flags.length ? `  [${flags.join(" ")}]` : ""}`);
            for (const input of flatInputs(r.inputs)) {
                lines.push(`${pad}    ${input}`);
            }
            walk(r.urn, depth + 1);
        }
    };
    const urns = new Set(resources.map((r) => r.urn));
    for (const root of new Set(resources.filter((r) => !urns.has(r.parent)).map((r) => r.parent))) {
        walk(root, 0);
    }
    return lines;
}

export function table(header: string[], rows: string[][]): string[] {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i])).join("  ")}`.trimEnd();
    return [line(header), ...rows.map(line)];
}

export function renderPlan(plan: Plan): string {
    const custom = plan.resources.filter((r) => r.custom).length;
    const slots = plan.topology.slots;
    const fleet = plan.config.hosts.length > 1;
    const files = Object.entries(plan.files).sort(([a], [b]) => a.localeCompare(b));
    return [
        `microvm-infra plan: stack "${plan.stack}" from ${plan.configFile}`,
        "Offline, under Pulumi's mock runtime: ids, addresses and lookups are [placeholder]s, secrets print as [secret].",
        "`pulumi preview` with credentials remains authoritative.",
        "",
        `Resources: ${plan.resources.length} (${custom} cloud or remote resources, ${plan.resources.length - custom} components)`,
        ...tree(plan.resources),
        "",
        `Slots: ${slots.length}`,
        ...(fleet
            ? table(
                  ["slot", "host", "state", "address", "subnet", "bridge", "vcpu", "memMiB", "diskGiB"],
                  slots.map((s) => [
                      s.name,
                      s.host,
                      s.state,
                      s.address,
                      s.subnet,
                      s.bridge,
                      String(s.vcpu),
                      String(s.memMiB),
                      String(s.diskGiB),
                  ]),
              )
            : table(
                  ["slot", "state", "address", "subnet", "bridge", "vcpu", "memMiB", "diskGiB"],
                  slots.map((s) => [
                      s.name,
                      s.state,
                      s.address,
                      s.subnet,
                      s.bridge,
                      String(s.vcpu),
                      String(s.memMiB),
                      String(s.diskGiB),
                  ]),
              )),
        "",
        ...observabilityPlanLines(plan.config, Object.keys(plan.stackFile.config)),
        "",
        "Stack outputs:",
        ...Object.entries(plan.outputs)
            .filter(([k]) => k !== "slots")
            .map(([k, v]) => `  ${k} = ${short(v)}`),
        "",
        `Files pushed to the host: ${files.length} (write them with --render-dir DIR)`,
        ...table(
            ["path", "bytes", "sha256"],
            files.map(([p, c]) => [
                p,
                String(Buffer.byteLength(c)),
                createHash("sha256").update(c).digest("hex").slice(0, 12),
            ]),
        ),
        "",
    ].join("\n");
}

function shortUrn(urn: string): string {
    const [, , type, ...name] = urn.split("::");
    return `${type.split("$").pop()}  ${name.join("::")}`;
}

/** The slots an edit creates, removes or restarts (and why), and the states it touches. */
export function renderSlotEffects(review: Review): string {
    const slots = review.slots.filter((s) => s.change !== "unchanged");
    return [
        `Slots: ${slots.length === 0 ? "none created, removed or restarted" : ""}`,
        ...slots.map(
            (s) =>
                `  ${s.slot}: ${s.change === "restarts" ? "VM restarts" : s.change}${s.why.length ? ` (${s.why.join("; ")})` : ""}`,
        ),
        `States: ${review.states.length === 0 ? "none created, moved or deleted" : ""}`,
        ...review.states.map((s) => `  ${s.state}: ${s.change}${s.dataLoss ? " (DATA LOSS)" : ""}, ${s.detail}`),
        "",
    ].join("\n");
}

export function renderDiff(diff: PlanDiff, against: string): string {
    const section = (title: string, sign: string, items: PlanDiff["create"]) =>
        items.length === 0
            ? []
            : [
                  `${title} (${items.length}):`,
                  ...items.flatMap((c) => [
                      `  ${sign} ${shortUrn(c.urn)}${c.deleteBeforeReplace ? "  [delete before replace]" : ""}`,
                      ...(c.replaceBecause ? [`      replaced because of: ${c.replaceBecause.join(", ")}`] : []),
                      ...(c.paths.length && !c.replaceBecause ? [`      changed: ${c.paths.join(", ")}`] : []),
                      ...(c.replaceBecause && c.paths.length > c.replaceBecause.length
                          ? [`      also changed: ${c.paths.filter((p) => !c.replaceBecause!.includes(p)).join(", ")}`]
                          : []),
                      ...(c.note ? [`      ${c.note}`] : []),
                      ...(c.runs && c.runs.length > 0 ? [`      runs: ${c.runs.join(", then ")}`] : []),
                  ]),
              ];
    const total = diff.create.length + diff.update.length + diff.replace.length + diff.delete.length;
    return [
        `Against ${against}: what \`pulumi up\` would do to a stack deployed from it`,
        "(estimated offline from the providers' replace-on-change properties; secret inputs are compared by digest, never shown;",
        " `pulumi preview` remains authoritative)",
        "",
        ...(total === 0 ? ["No changes: nothing to do."] : []),
        ...section("Create", "+", diff.create),
        ...section("Update", "~", diff.update),
        ...section("Replace", "+-", diff.replace),
        ...section("Delete", "-", diff.delete),
        `Unchanged: ${diff.unchanged.length} resources left alone`,
        `Commands run: ${commandsRun(diff).length} (${commandsRun(diff).filter((c) => c.runs.some((x) => x.includes("on the host"))).length} on the host)`,
        "",
    ].join("\n");
}
