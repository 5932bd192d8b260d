/**
 * The review as Markdown, ready for a pull-request comment (`npm run plan -- --against BASE
 * --format markdown`): consequences first (slots, states, data at risk, the host, security, cost),
 * the resource-level detail folded away. Stable: the same change renders the same text.
 */
import { pricesAsOf } from "../../infra/instanceTypes";
import { hoursPerMonth, storagePricesAsOf } from "../../infra/prices";
import { HostChange, Review, StateChange } from "./review";

/** The first line of every summary: the comment workflow finds its own comment by it. */
export const reviewMarker = "<!-- microvm-infra:plan -->";

const usd = (n: number) => (Number.isFinite(n) ? `$${n.toFixed(n < 10 ? 3 : 2)}` : "unknown");
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function stateLine(s: StateChange): string {
    const what = s.dataLoss ? `**${s.change}: DATA LOSS**` : s.change;
    return `| ${code(s.state)} | ${what} | ${cell(s.dataLoss ? `**${s.detail}**` : s.detail)} |`;
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * One line of consequences. Not bold as a whole: the dangerous parts are (data loss, a replaced
 * host), and bold inside bold would undo them.
 */
function headline(r: Review): string {
    const created = r.slots.filter((s) => s.change === "created").length;
    const removed = r.slots.filter((s) => s.change === "removed").length;
    const restarts = r.slots.filter((s) => s.change === "restarts").length;
    const lost = (change: string) => r.states.filter((s) => s.dataLoss && s.change === change).length;
    const losses = [
        ["destroyed", lost("destroyed")],
        ["re-created", lost("re-created")],
    ] as const;
    const replaced = r.hosts.filter((h) => h.change === "replaced").map((h) => h.host);
    const { before, after } = r.cost;
    const parts = [
        ...(created ? [`${count(created, "slot")} created`] : []),
        ...(removed ? [`${count(removed, "slot")} removed`] : []),
        restarts ? `${count(restarts, "VM")} restart${restarts === 1 ? "s" : ""}` : "no VM restarts",
        ...(losses.some(([, n]) => n > 0)
            ? losses.filter(([, n]) => n > 0).map(([what, n]) => `**${count(n, "state")} ${what} (data loss)**`)
            : ["no data at risk"]),
        ...(replaced.length === 0
            ? []
            : [
                  r.hosts.length === 1
                      ? "**the host is replaced**"
                      : `**${count(replaced.length, "host")} replaced (${replaced.join(", ")})**`,
              ]),
        before.usdPerHour === after.usdPerHour
            ? `cost unchanged (${usd(after.usdPerHour)}/h)`
            : `cost ${usd(before.usdPerHour)}/h -> ${usd(after.usdPerHour)}/h`,
    ];
    return `${parts.join(", ")}.`;
}

function hostLine(h: HostChange, fleet: boolean): string {
    const name = fleet ? `${code(h.host)}: ` : "";
    const bill =
        h.retainedUsdPerMonth !== undefined
            ? `AWS keeps it, and bills it: ${usd(h.retainedUsdPerMonth)}/month until you delete it`
            : "";
    const retained = h.volumeProtected
        ? ` (it is protected: \`pulumi up\` stops with an error instead; unprotect it to let the stack forget it, and then ${bill})`
        : bill
          ? ` (${bill})`
          : "";
    const volume =
        h.volume === "kept"
            ? "the state volume is kept and attached to the new host (the states survive)"
            : h.volume === "none"
              ? "**the files backend keeps the states on the root disk: they go with the old host**"
              : `**the state volume is ${h.volume}**${retained}`;
    switch (h.change) {
        case "replaced":
            return `${name}**Replaced** (because of ${h.because.map(code).join(", ")}): every VM on it restarts on the new host; ${volume}.`;
        case "created":
            return `${name}new host${h.volume === "created" ? ", with a new state volume" : ""}.`;
        case "removed":
            return `${name}**removed**${h.volume === "deleted" ? `; **its state volume leaves the stack**${retained}` : h.volume === "none" ? "; **its states (files backend, root disk) go with it**" : ""}.`;
        case "kept":
            return `${name}${h.volume === "kept" || h.volume === "none" || h.volume === "created" ? "Not replaced." : `Not replaced; **the state volume is ${h.volume}**${retained}.`}`;
    }
}

/** The resource changes in `pulumi preview`'s markers; replace and update are changes (`!`), never additions. */
function changeLines(r: Review): string[] {
    return [
        ...r.diff.create.map((x) => `+ ${short(x.urn)}`),
        ...r.diff.update.map((x) => `! ~ ${short(x.urn)}: ${x.paths.join(", ")}`),
        ...r.diff.replace.map(
            (x) => `! +- ${short(x.urn)}: replaced because of ${(x.replaceBecause ?? []).join(", ")}`,
        ),
        ...r.diff.delete.map((x) => `- ${short(x.urn)}${x.note ? ` (${x.note})` : ""}`),
    ];
}

export function renderReview(r: Review, title: string): string {
    const total = r.counts.create + r.counts.update + r.counts.replace + r.counts.delete;
    const lines: string[] = [
        reviewMarker,
        `### microvm-infra: ${title}`,
        "",
        total === 0 && r.config.length === 0
            ? "**No change.** `pulumi up` would do nothing."
            : `**Summary:** ${headline(r)}`,
        "",
    ];
    if (r.config.length > 0) {
        lines.push("#### Config keys changed", "", "| key | change |", "|---|---|");
        for (const c of r.config) {
            const detail = c.secret
                ? `${c.change} (secret, value not shown)`
                : c.notShown
                  ? `${c.change} (value not shown: ${c.notShown})`
                  : c.change === "changed"
                    ? `${code(c.before!)} -> ${code(c.after!)}`
                    : c.change === "added"
                      ? `added: ${code(c.after!)}`
                      : `removed (was ${code(c.before!)})`;
            lines.push(`| ${code(c.key)} | ${cell(detail)} |`);
        }
        lines.push("");
    }
    const touched = r.slots.filter((s) => s.change !== "unchanged");
    lines.push("#### Slots", "");
    if (touched.length === 0) {
        lines.push("No slot is created, removed or restarted.", "");
    } else {
        lines.push(
            "| slot | change | why |",
            "|---|---|---|",
            ...touched.map(
                (s) =>
                    `| ${code(s.slot)} | ${s.change === "restarts" ? "VM restarts" : s.change} | ${cell(s.why.join("; "))} |`,
            ),
        );
        const calm = r.slots.filter((s) => s.change === "unchanged").map((s) => code(s.slot));
        lines.push("", calm.length > 0 ? `Not restarted: ${calm.join(", ")}.` : "Every slot is affected.", "");
    }
    lines.push("#### States", "");
    lines.push(
        ...(r.states.length === 0
            ? ["No state is created, moved or deleted.", ""]
            : ["| state | change | |", "|---|---|---|", ...r.states.map(stateLine), ""]),
    );
    const fleet = r.hosts.length > 1;
    lines.push(
        fleet ? "#### Hosts" : "#### Host",
        "",
        ...(fleet ? r.hosts.map((h) => `- ${hostLine(h, true)}`) : r.hosts.map((h) => hostLine(h, false))),
        "",
    );
    lines.push(...r.hostNotes.flatMap((n) => [n, ""]));
    lines.push(
        "#### Security",
        "",
        ...(r.security.length === 0
            ? ["No change to the security group, IAM, root login, the slots' egress or the tailnet."]
            : r.security.map((s) => `- ${cell(s)}`)),
        "",
    );
    if (r.observability.length > 0) {
        lines.push("#### Observability", "", ...r.observability.map((s) => `- ${cell(s)}`), "");
    }
    lines.push(...costTable(r));
    const c = r.counts;
    lines.push(
        "#### Resources",
        "",
        `create ${c.create} · update ${c.update} · replace ${c.replace} · delete ${c.delete} · unchanged ${c.unchanged} · commands run on the host ${c.commandsOnHost}, on the operator's machine ${c.commandsLocal}`,
        "",
    );
    const changes = changeLines(r);
    if (changes.length > 0) {
        lines.push(
            "<details><summary>Resource changes</summary>",
            "",
            "```diff",
            ...changes,
            "```",
            "",
            "</details>",
            "",
        );
    }
    lines.push(
        "_Estimated offline from the stack configs (no credentials); `pulumi preview` remains authoritative._",
        "",
    );
    return lines.join("\n");
}

/** Every line paid for, before and after, and the totals. */
function costTable(r: Review): string[] {
    const { before, after } = r.cost;
    const items = [...new Set([...before.lines, ...after.lines].map((l) => l.item))];
    const month = (n: number | undefined) => (n === undefined ? "-" : usd(n * hoursPerMonth));
    const rows = items.map((item) => {
        const a = before.lines.find((l) => l.item === item);
        const b = after.lines.find((l) => l.item === item);
        const detail =
            a && b && a.detail !== b.detail ? `${code(a.detail)} -> ${code(b.detail)}` : code((b ?? a)!.detail);
        return `| ${item} | ${cell(detail)} | ${month(a?.usdPerHour)} | ${month(b?.usdPerHour)} |`;
    });
    return [
        `#### Cost (on-demand list prices as of ${pricesAsOf}${storagePricesAsOf === pricesAsOf ? "" : `, storage and IPv4 as of ${storagePricesAsOf}`}; data transfer and backups on top)`,
        "",
        "| | what | before, per month | after, per month |",
        "|---|---|---|---|",
        ...rows,
        `| **total** | | ${usd(before.usdPerMonth)} (${usd(before.usdPerHour)}/h) | ${usd(after.usdPerMonth)} (${usd(after.usdPerHour)}/h) |`,
        "",
    ];
}

function short(urn: string): string {
    const [, , type, ...name] = urn.split("::");
    return `${type.split("$").pop()} ${name.join("::")}`;
}
