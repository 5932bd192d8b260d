/**
 * `npm run plan`: what `pulumi up` would declare, offline, without cloud credentials.
 *
 *   npm run plan                        plan Pulumi.dev.yaml
 *   npm run plan -- --stack NAME        plan Pulumi.NAME.yaml
 *   npm run plan -- --config FILE       plan any file in the same format
 *   npm run plan -- --json              one JSON document instead of text
 *   npm run plan -- --against OLD       what applying the config to a stack deployed from OLD would do
 *   npm run plan -- --render-dir DIR    also write the files pushed to the host into DIR
 *   npm run plan -- --against OLD --format markdown
 *                                       a pull-request review: slots, states, data at risk, host, security, cost
 *
 * Exit status: 0 ok, 1 invalid config (the validation message says which key), 2 bad arguments.
 */
import { existsSync, statSync } from "fs";
import { basename, join, resolve } from "path";
import { createHash } from "crypto";
import { ConfigError } from "../infra/config";
import { capWords, redactText, shown } from "../lib/redact";
import { crossHostCloneProblems } from "./plan/changeChecks";
import { diffPlans, PlanDiff } from "./plan/diff";
import { renderReview } from "./plan/markdown";
import { renderDiff, renderPlan, renderSlotEffects } from "./plan/render";
import { checkRenderDir, RenderDirError, writeRendered } from "./plan/renderDir";
import { reviewChange } from "./plan/review";
import { Plan, planStack, ProgramError } from "./plan/run";
import { StackFileError } from "./plan/stackFile";

const usage =
    "Usage: npm run plan -- [--stack NAME | --config FILE] [--against OLD_FILE] [--json | --format text|json|markdown] [--render-dir DIR]";

export type PlanFormat = "text" | "json" | "markdown";

export interface PlanArgs {
    config: string;
    stack: string;
    against?: string;
    format: PlanFormat;
    renderDir?: string;
}

export class UsageError extends Error {}

const root = resolve(__dirname, "..");

function stackName(file: string): string {
    const m = /^Pulumi\.(.+)\.ya?ml$/.exec(basename(file));
    return m ? m[1] : "dev";
}

export function parseArgs(argv: readonly string[]): PlanArgs {
    let config: string | undefined;
    let stack: string | undefined;
    const out: Partial<PlanArgs> = { format: "text" };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const next = (): string => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) {
                throw new UsageError(`${arg} needs a value`);
            }
            return v;
        };
        switch (arg) {
            case "--stack":
                stack = next();
                break;
            case "--config":
                config = next();
                break;
            case "--against":
                out.against = next();
                break;
            case "--render-dir":
                out.renderDir = next();
                break;
            case "--json":
                out.format = "json";
                break;
            case "--format": {
                const f = next();
                if (f !== "text" && f !== "json" && f !== "markdown") {
                    throw new UsageError(`--format must be text, json or markdown, got ${shown(f)}`);
                }
                out.format = f;
                break;
            }
            default:
                throw new UsageError(`unknown argument ${shown(arg)}`);
        }
    }
    if (stack !== undefined && config !== undefined) {
        throw new UsageError("--stack and --config are mutually exclusive: --stack NAME reads Pulumi.NAME.yaml");
    }
    if (out.format === "markdown" && out.against === undefined) {
        throw new UsageError(
            "--format markdown reviews a change: it needs --against OLD_FILE (the base branch's stack file)",
        );
    }
    if (stack !== undefined && !/^[A-Za-z0-9_.-]+$/.test(stack)) {
        throw new UsageError(`--stack must be a stack name, got ${shown(stack)}`);
    }
    const file = config ?? join(root, `Pulumi.${stack ?? "dev"}.yaml`);
    const named: [string, string | undefined][] = [
        [config ? "--config" : "the stack config", file],
        ["--against", out.against],
    ];
    for (const [what, f] of named) {
        if (f !== undefined && (!existsSync(f) || !statSync(f).isFile())) {
            throw new UsageError(`${what}: no such stack config file: ${f}`);
        }
    }
    if (out.renderDir !== undefined) {
        try {
            checkRenderDir(out.renderDir);
        } catch (err) {
            throw err instanceof RenderDirError ? new UsageError(err.message) : err;
        }
    }
    return { ...out, config: file, stack: stack ?? stackName(file) } as PlanArgs;
}

function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

function toJson(plan: Plan, diff?: PlanDiff): unknown {
    return {
        resources: plan.resources.map((r) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            parent: r.parent,
            inputs: r.inputs,
            options: {
                protect: r.options.protect,
                retainOnDelete: r.options.retainOnDelete,
                deleteBeforeReplace: r.options.deleteBeforeReplace,
                ignoreChanges: r.options.ignoreChanges,
                dependsOn: r.options.dependsOn,
                replaceOnChanges: r.options.replaceOnChanges,
                deletedWith: r.options.deletedWith,
                customTimeouts: r.options.customTimeouts,
            },
        })),
        topology: plan.topology,
        files: Object.fromEntries(
            Object.entries(plan.files)
                .sort()
                .map(([p, c]) => [p, { bytes: Buffer.byteLength(c), sha256: sha256(c) }]),
        ),
        ...(diff
            ? {
                  diff: {
                      create: diff.create.map((c) => c.urn),
                      update: diff.update.map((c) => c.urn),
                      replace: diff.replace.map((c) => c.urn),
                      delete: diff.delete.map((c) => c.urn),
                      changes: [...diff.update, ...diff.replace].map((c) => ({
                          urn: c.urn,
                          paths: c.paths,
                          replaceBecause: c.replaceBecause ?? [],
                      })),
                  },
              }
            : {}),
    };
}

/** What the plan says on stderr: never secret-shaped text, never a whole long value (lib/redact.ts). */
function complain(text: string): void {
    process.stderr.write(capWords(redactText(text)));
}

/** Plans a stack file, naming which of the two files (OLD or NEW) a problem is in. */
async function planNamed(what: string, file: string, stack: string): Promise<Plan> {
    try {
        return await planStack(file, stack);
    } catch (err) {
        if (err instanceof ConfigError || err instanceof ProgramError || err instanceof StackFileError) {
            throw new NamedPlanError(what, file, err);
        }
        throw err;
    }
}

class NamedPlanError extends Error {
    constructor(
        readonly what: string,
        readonly file: string,
        readonly cause: ConfigError | ProgramError | StackFileError,
    ) {
        super(cause.message);
    }
}

export async function main(argv: readonly string[]): Promise<number> {
    let args: PlanArgs;
    try {
        args = parseArgs(argv);
    } catch (err) {
        if (err instanceof UsageError) {
            complain(`plan: ${err.message}\n${usage}\n`);
            return 2;
        }
        throw err;
    }
    try {
        // OLD is what the selected stack was deployed from: plan it as that stack, so URNs match.
        const oldPlan = args.against ? await planNamed("OLD (--against)", args.against, args.stack) : undefined;
        const plan = await planNamed(args.against ? "NEW" : "the stack config", args.config, args.stack);
        const refused = oldPlan ? crossHostCloneProblems(oldPlan, plan) : [];
        if (refused.length > 0) {
            complain(`Invalid change in NEW, ${args.config} (against ${args.against}):\n${refused.join("\n")}\n`);
            return 1;
        }
        const diff = oldPlan ? diffPlans(oldPlan.resources, plan.resources) : undefined;
        if (args.renderDir) {
            writeRendered(args.renderDir, plan.files, plan.executables);
        }
        if (args.format === "json") {
            process.stdout.write(`${JSON.stringify(toJson(plan, diff), null, 2)}\n`);
        } else if (args.format === "markdown") {
            const title = `stack \`${args.stack}\`: ${basename(args.config)} against ${basename(args.against!)}`;
            process.stdout.write(renderReview(reviewChange(oldPlan!, plan, diff!), title));
        } else {
            process.stdout.write(renderPlan(plan));
            if (diff) {
                process.stdout.write(`\n${renderDiff(diff, args.against!)}`);
                process.stdout.write(renderSlotEffects(reviewChange(oldPlan!, plan, diff)));
            }
        }
        return 0;
    } catch (err) {
        if (err instanceof RenderDirError) {
            complain(`plan: ${err.message}\n`);
            return 2;
        }
        if (!(err instanceof NamedPlanError)) {
            throw err;
        }
        // A bad OLD is a bad argument (exit 2): the change under review was not even reached.
        const old = err.what.startsWith("OLD");
        if (err.cause instanceof ConfigError) {
            complain(`Invalid stack config in ${err.what}, ${err.file}:\n${err.message}\n`);
            return old ? 2 : 1;
        }
        if (err.cause instanceof ProgramError) {
            complain(`plan: the program stopped with an error planning ${err.what}, ${err.file}:\n${err.message}\n`);
            return old ? 2 : 1;
        }
        complain(`plan: ${err.what}: ${err.message}\n`);
        return 2;
    }
}

if (require.main === module) {
    // exitCode, not exit(): exit() would cut off output still queued for a pipe (`--json | jq`).
    main(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        (err) => {
            complain(`plan: ${err instanceof Error ? err.stack : String(err)}\n`);
            process.exitCode = 1;
        },
    );
}
