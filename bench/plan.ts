/**
 * `npm run bench`: how long `npm run plan` takes for the example stack and for a generated
 * 100-slot stack, against a bare mocked program that loads the same providers and declares
 * nothing. Each command runs as its own process (as a user runs it), several times; the median
 * counts. Fails if the 100-slot plan takes twice the 5-slot plan or more.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { parse, stringify } from "yaml";
import { commandsRun, diffPlans } from "../tools/plan/diff";
import { planStack } from "../tools/plan/run";

const root = resolve(__dirname, "..");
const runs = Number(process.env.BENCH_RUNS ?? 5);
const tsx = join(root, "node_modules/.bin/tsx");

function hundredSlotStack(): string {
    const doc = parse(readFileSync(join(root, "Pulumi.dev.yaml"), "utf8"));
    doc.config["microvm-infra:host"].instanceType = "m7g.metal";
    doc.config["microvm-infra:slots"] = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`slot${i + 1}`, {}]));
    const file = join(mkdtempSync(join(tmpdir(), "bench-")), "Pulumi.bench100.yaml");
    writeFileSync(file, stringify(doc));
    return file;
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

function time(args: string[]): number {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
        const start = process.hrtime.bigint();
        const r = spawnSync(tsx, args, { cwd: root, encoding: "utf8" });
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (r.status !== 0) {
            throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
        }
        samples.push(ms);
    }
    return median(samples);
}

/** A copy of the example stack with `edit` applied, written to a temporary stack file. */
function editedExample(edit: (config: Record<string, any>) => void): string {
    const doc = parse(readFileSync(join(root, "Pulumi.dev.yaml"), "utf8"));
    edit(doc.config);
    const file = join(mkdtempSync(join(tmpdir(), "bench-")), "Pulumi.dev.yaml");
    writeFileSync(file, stringify(doc));
    return file;
}

/** What a config edit makes `pulumi up` do: resources changed, and remote commands among them. */
async function editCost(): Promise<string[]> {
    const example = join(root, "Pulumi.dev.yaml");
    const base = await planStack(example, "dev");
    const edits: [string, string][] = [
        ["no change", example],
        [
            "add slot6",
            editedExample((c) => {
                c["microvm-infra:slots"].slot6 = {};
            }),
        ],
        [
            "move state dev into slot4",
            editedExample((c) => {
                c["microvm-infra:slots"].slot4 = { ...c["microvm-infra:slots"].slot4, state: "dev" };
            }),
        ],
        [
            "swap slot1 and slot3",
            editedExample((c) => {
                c["microvm-infra:slots"].slot1 = { state: "slot3" };
                c["microvm-infra:slots"].slot3 = { state: "slot1" };
            }),
        ],
    ];
    const lines: string[] = [];
    for (const [name, file] of edits) {
        const diff = diffPlans(base.resources, (await planStack(file, "dev")).resources);
        const remote = commandsRun(diff).filter((c) => c.urn.includes("command:remote:")).length;
        lines.push(
            `  ${name.padEnd(34)} create ${diff.create.length}, update ${diff.update.length}, replace ${diff.replace.length}, delete ${diff.delete.length}; remote commands run: ${remote}; unchanged ${diff.unchanged.length}`,
        );
    }
    return lines;
}

const bare = time(["bench/bare-program.ts"]);
const five = time(["tools/plan.ts", "--json"]);
const hundred = time(["tools/plan.ts", "--json", "--config", hundredSlotStack()]);

const rows: [string, number][] = [
    ["bare mocked program (same providers, no resources)", bare],
    ["plan: example stack (5 slots)", five],
    ["plan: generated stack (100 slots, m7g.metal)", hundred],
];
process.stdout.write(`median of ${runs} runs, wall-clock, one process each (node ${process.version})\n`);
for (const [name, ms] of rows) {
    process.stdout.write(`  ${name.padEnd(52)} ${(ms / 1000).toFixed(2)} s   ${(ms / bare).toFixed(2)}x bare\n`);
}
const ratio = hundred / five;
process.stdout.write(`  100-slot / 5-slot: ${ratio.toFixed(2)} (must be < 2)\n`);
editCost().then((lines) => {
    process.stdout.write(`what a config edit costs (planned against the example stack):\n${lines.join("\n")}\n`);
    process.exitCode = ratio < 2 ? 0 : 1;
});
