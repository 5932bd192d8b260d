/**
 * The review as Markdown, ready for a pull-request comment (`npm run plan -- --against BASE
 * --format markdown`): consequences first (slots, states, data at risk, the host, security, cost),
 * the resource-level detail folded away. Stable: the same change renders the same text.
 */
import { Review, StateChange } from "./review";

/** The first line of every summary: the comment workflow finds its own comment by it. */
export const reviewMarker = "<!-- microvm-infra:plan -->";

const usd = (n: number) => (Number.isFinite(n) ? `$${n.toFixed(n < 10 ? 3 : 2)}` : "unknown");
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function stateLine(s: StateChange): string {
    const what = s.dataLoss ? `**${s.change}: DATA LOSS**` : s.change;
    return `| ${code(s.state)} | ${what} | ${cell(s.dataLoss ? `**${s.detail}**` : s.detail)} |`;
}

function headline(r: Review): string {
    const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
    const created = r.slots.filter((s) => s.change === "created").length;
    const removed = r.slots.filter((s) => s.change === "removed").length;
    const restarts = r.slots.filter((s) => s.change === "restarts").length;
    const loss = r.states.filter((s) => s.dataLoss).length;
    const parts = [
        ...(created ? [`${count(created, "slot")} created`] : []),
        ...(removed ? [`${count(removed, "slot")} removed`] : []),
        restarts ? `${count(restarts, "VM")} restart${restarts === 1 ? "s" : ""}` : "no VM restarts",
        loss ? `**${count(loss, "state")} destroyed (data loss)**` : "no data at risk",
        ...(r.host.replaced ? ["**the host is replaced**"] : []),
        r.cost.before.usdPerHour === r.cost.after.usdPerHour ? `cost unchanged (${usd(r.cost.after.usdPerHour)}/h)` : `cost ${usd(r.cost.before.usdPerHour)}/h -> ${usd(r.cost.after.usdPerHour)}/h`,
    ];
    return parts.join(", ");
}

export function renderReview(r: Review, title: string): string {
    const total = r.counts.create + r.counts.update + r.counts.replace + r.counts.delete;
    const lines: string[] = [
        reviewMarker,
        `### microvm-infra: ${title}`,
        "",
        total === 0 && r.config.length === 0 ? "**No change.** `pulumi up` would do nothing." : `**${headline(r)}.**`,
        "",
    ];
    if (r.config.length > 0) {
        lines.push("#### Config keys changed", "", "| key | change |", "|---|---|");
        for (const c of r.config) {
            const detail = c.secret ? `${c.change} (secret, value not shown)`
                : c.change === "changed" ? `${code(c.before!)} -> ${code(c.after!)}`
                    : c.change === "added" ? `added: ${code(c.after!)}` : `removed (was ${code(c.before!)})`;
            lines.push(`| ${code(c.key)} | ${cell(detail)} |`);
        }
        lines.push("");
    }
    const touched = r.slots.filter((s) => s.change !== "unchanged");
    lines.push("#### Slots", "");
    if (touched.length === 0) {
        lines.push("No slot is created, removed or restarted.", "");
    } else {
        lines.push("| slot | change | why |", "|---|---|---|", ...touched.map((s) => `| ${code(s.slot)} | ${s.change === "restarts" ? "VM restarts" : s.change} | ${cell(s.why.join("; "))} |`));
        const calm = r.slots.filter((s) => s.change === "unchanged").map((s) => code(s.slot));
        lines.push("", calm.length > 0 ? `Not restarted: ${calm.join(", ")}.` : "Every slot is affected.", "");
    }
    lines.push("#### States", "");
    lines.push(...(r.states.length === 0 ? ["No state is created, moved or deleted.", ""] : ["| state | change | |", "|---|---|---|", ...r.states.map(stateLine), ""]));
    lines.push("#### Host", "");
    if (r.host.replaced) {
        const volume = r.host.volume === "kept" ? "the state volume is kept and attached to the new host (the states survive)"
            : r.host.volume === "none" ? "**the files backend keeps the states on the root disk: they go with the old host**" : `**the state volume is ${r.host.volume}**`;
        lines.push(`**Replaced** (because of ${r.host.because.map(code).join(", ")}): every VM restarts on the new host; ${volume}.`, "");
    } else {
        lines.push(r.host.volume === "kept" || r.host.volume === "none" ? "Not replaced." : `Not replaced; **the state volume is ${r.host.volume}**.`, "");
    }
    lines.push(...r.host.notes.flatMap((n) => [n, ""]));
    lines.push("#### Security", "", ...(r.security.length === 0 ? ["No change to the security group, IAM or the tailnet."] : r.security.map((s) => `- ${cell(s)}`)), "");
    const { before, after } = r.cost;
    lines.push("#### Cost (on-demand, the host instance)", "", "| | type | per hour | per month |", "|---|---|---|---|",
        `| before | ${code(before.instanceType)} | ${usd(before.usdPerHour)} | ${usd(before.usdPerMonth)} |`,
        `| after | ${code(after.instanceType)} | ${usd(after.usdPerHour)} | ${usd(after.usdPerMonth)} |`, "");
    const c = r.counts;
    lines.push("#### Resources", "",
        `create ${c.create} · update ${c.update} · replace ${c.replace} · delete ${c.delete} · unchanged ${c.unchanged} · commands run on the host ${c.commandsOnHost}, on the operator's machine ${c.commandsLocal}`, "");
    const changes = [
        ...r.diff.create.map((x) => `+ ${short(x.urn)}`),
        ...r.diff.update.map((x) => `~ ${short(x.urn)}: ${x.paths.join(", ")}`),
        ...r.diff.replace.map((x) => `+- ${short(x.urn)}: replaced because of ${(x.replaceBecause ?? []).join(", ")}`),
        ...r.diff.delete.map((x) => `- ${short(x.urn)}${x.note ? ` (${x.note})` : ""}`),
    ];
    if (changes.length > 0) {
        lines.push("<details><summary>Resource changes</summary>", "", "```diff", ...changes, "```", "", "</details>", "");
    }
    lines.push("_Estimated offline from the stack configs (no credentials); `pulumi preview` remains authoritative._", "");
    return lines.join("\n");
}

function short(urn: string): string {
    const [, , type, ...name] = urn.split("::");
    return `${type.split("$").pop()} ${name.join("::")}`;
}
