/**
 * `npm run render-fixtures`: re-renders the committed copies of what the program makes of the stack
 * configs, with the same program `pulumi up` runs (under the mock runtime):
 *   Pulumi.dev.yaml                   -> nixos/infra.json (so `nix flake check ./nixos` works from a clone)
 *   tests/fixtures/stacks/NAME.yaml   -> tests/fixtures/infra/NAME.json (the Nix generators' test inputs),
 *                                        or NAME-<host>.json for each host of a stack with several
 *   each of them                      -> tests/fixtures/urns/<file name>.txt (every URN it declares, sorted)
 * The one command to run after a deliberate edit of those stack files (README's "add slot6":
 * docs/operations.md). The URN lists guard against renames: a resource renamed by accident needs
 * an alias, not a re-render. `--check` writes nothing and exits 1 listing the stale files.
 */
import { readdirSync, readFileSync, writeFileSync } from "fs";
import { basename, join, resolve } from "path";
import { Plan, planStack } from "./plan/run";

const root = resolve(__dirname, "..");

export const urnsDir = join(root, "tests/fixtures/urns");

export const renderedCopies: readonly { stackFile: string; stack: string; target: string; urns: string }[] = [
    {
        stackFile: join(root, "Pulumi.dev.yaml"),
        stack: "dev",
        target: join(root, "nixos/infra.json"),
        urns: join(urnsDir, "Pulumi.dev.txt"),
    },
    ...readdirSync(join(root, "tests/fixtures/stacks"))
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => ({
            stackFile: join(root, "tests/fixtures/stacks", f),
            stack: "dev",
            target: join(root, "tests/fixtures/infra", `${basename(f, ".yaml")}.json`),
            urns: join(urnsDir, `${basename(f, ".yaml")}.txt`),
        })),
];

/** The recorded URN list of a plan: every declared resource's URN, sorted, one per line. */
export function urnListOf(plan: Plan): string {
    return `${plan.resources
        .map((r) => r.urn)
        .sort()
        .join("\n")}\n`;
}

/** The deployment data among the files a plan pushes to the host. */
export function infraJsonOf(plan: Plan): string {
    const keys = Object.keys(plan.files).filter((k) => basename(k) === "infra.json");
    if (keys.length !== 1) {
        throw new Error(`expected one infra.json among the pushed files, found: ${keys.join(", ") || "none"}`);
    }
    return plan.files[keys[0]];
}

function current(path: string): string | undefined {
    try {
        return readFileSync(path, "utf8");
    } catch {
        return undefined;
    }
}

/**
 * The files a stack renders to: its one target, or, for a stack of several hosts, one per host
 * (`<target>-<host>.json`); and its URN list.
 */
function targetsOf(copy: { target: string; urns: string }, plan: Plan): [string, string][] {
    const hosts = Object.keys(plan.hostFiles);
    const infra: [string, string][] =
        hosts.length <= 1
            ? [[copy.target, infraJsonOf(plan)]]
            : hosts.map((h) => [copy.target.replace(/\.json$/, `-${h}.json`), plan.hostFiles[h]["nixos/infra.json"]]);
    return [...infra, [copy.urns, urnListOf(plan)]];
}

/** Returns the targets whose committed content differs from a fresh render (writing them unless checking). */
export async function renderFixtures(check: boolean): Promise<string[]> {
    const stale: string[] = [];
    for (const copy of renderedCopies) {
        for (const [target, text] of targetsOf(copy, await planStack(copy.stackFile, copy.stack))) {
            if (current(target) !== text) {
                stale.push(target);
                if (!check) {
                    writeFileSync(target, text);
                }
            }
        }
    }
    return stale;
}
if (require.main === module) {
    const check = process.argv.includes("--check");
    renderFixtures(check).then(
        (stale) => {
            for (const file of stale) {
                process.stdout.write(`${check ? "stale" : "rendered"}: ${file}\n`);
            }
            process.exitCode = check && stale.length > 0 ? 1 : 0;
        },
        (err) => {
            process.stderr.write(`render-fixtures: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exitCode = 1;
        },
    );
}
