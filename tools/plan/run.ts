/** Plans one stack config file: the resources the program declares, its slot table and the files it pushes. */
import * as pulumi from "@pulumi/pulumi";
import { defineInfrastructure } from "../../infra/program";
import { loadStackConfig } from "../../infra/stackConfig";
import { SlotIdentity } from "../../infra/topology";
import { PlannedResource, settle, startMockRuntime } from "./mockRuntime";
import { StackConfig } from "../../infra/config";
import { readStackFile, secretPlaceholder, StackFile } from "./stackFile";

export const project = "microvm-infra";

export interface Plan {
    readonly stack: string;
    readonly configFile: string;
    /** The stack file as read (flat keys, secrets as "[secret]") and its secrets' digests. */
    readonly stackFile: StackFile;
    /** The validated config the program ran with. */
    readonly config: StackConfig;
    readonly resources: PlannedResource[];
    /** The slots as the program computed them (never recomputed here). */
    readonly topology: { slots: readonly SlotIdentity[] };
    /** Files pushed to the host: relative path to content. */
    readonly files: Record<string, string>;
    /** The pushed files that are executable. */
    readonly executables: string[];
    /** Each host's pushed files (in a one-host stack, `main`'s are `files`). */
    readonly hostFiles: Record<string, Record<string, string>>;
    /** The provider functions (lookups) the program called, by token. */
    readonly lookups: string[];
    /** The stack outputs `pulumi up` would export (secrets as "[secret]"). */
    readonly outputs: Record<string, unknown>;
}

function value<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Stack outputs as `pulumi stack output` would show them: a secret one as the placeholder. */
async function exportedOutputs(outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const exported: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(outputs)) {
        if (raw === undefined) {
            continue;
        }
        const output = pulumi.output(raw);
        exported[key] = (await pulumi.isSecret(output)) ? secretPlaceholder : await value(output);
    }
    return exported;
}

/** An error the program raised inside an output or a lookup (they surface as unhandled rejections). */
export class ProgramError extends Error {}

/** The program's own message, without the chain of "error serializing property" wrappers around it. */
export function rootCause(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    return message.replace(/^(error serializing property "[^"]*": )+/, "");
}

/**
 * Runs `work`, failing as soon as the program raises an error asynchronously; without this, a
 * rejected output would leave the plan waiting forever for a value that never comes.
 */
async function failFast<T>(work: () => Promise<T>): Promise<T> {
    let onError: (err: unknown) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => {
        onError = (err) => reject(new ProgramError(rootCause(err)));
    });
    process.on("unhandledRejection", onError);
    process.on("uncaughtException", onError);
    try {
        return await Promise.race([work(), failed]);
    } finally {
        process.off("unhandledRejection", onError);
        process.off("uncaughtException", onError);
    }
}

/** Throws ConfigError for an invalid config, StackFileError for an unreadable file, ProgramError when the program fails. */
export function planStack(configFile: string, stack: string): Promise<Plan> {
    return failFast(() => planOnce(configFile, stack));
}

async function planOnce(configFile: string, stack: string): Promise<Plan> {
    const stackFile = readStackFile(configFile, project);
    const recorder = await startMockRuntime(project, stack, stackFile.config, stackFile.secretKeys);
    const loaded = loadStackConfig();
    const program = defineInfrastructure(loaded);
    const pushed = await value(program.files);
    const executables = await value(program.executables);
    const hostFiles: Record<string, Record<string, string>> = {};
    for (const [host, files] of Object.entries(program.hostFiles)) {
        hostFiles[host] = await value(files);
    }
    const exported = await exportedOutputs(program.outputs);
    await settle();
    return {
        stack,
        configFile,
        stackFile,
        config: loaded.cfg,
        resources: recorder.resources,
        topology: { slots: program.topology.slots },
        files: pushed,
        executables,
        hostFiles,
        outputs: exported,
        lookups: [...new Set(recorder.calls.map((c) => c.token))].sort(),
    };
}
