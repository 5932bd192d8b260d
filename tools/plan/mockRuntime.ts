/**
 * Runs the Pulumi program under Pulumi's mock runtime and records what it declares: every
 * resource with its type, name, parent, inputs and resource options as the engine would see them.
 * No network call is made. Shared by `npm run plan` and the Jest tests.
 */
import { createHash } from "crypto";
import { existsSync, readFileSync } from "fs";
import { resolve } from "path";
import * as pulumi from "@pulumi/pulumi";
import { functionResults, resourceIds, resourceOutputs, StackContext } from "./mockOutputs";
import { currentMonitor, deserializeProperties, secretSig, sigKey, waitForRPCs } from "./sdk";
import { secretPlaceholder } from "./stackFile";

export interface ResourceOptionsRecord {
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly ignoreChanges: string[];
    /** Every resource this one waits for: explicit dependsOn and the resources its inputs come from. */
    readonly dependsOn: string[];
    readonly deletedWith: string;
    readonly replaceOnChanges: string[];
    readonly additionalSecretOutputs: string[];
    /** Pulumi's own limits for create/update/delete ("90m"), where the program sets them. */
    readonly customTimeouts: { create?: string; update?: string; delete?: string };
}

export interface PlannedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly parent: string;
    readonly custom: boolean;
    readonly inputs: Record<string, unknown>;
    /** URNs this resource had before (its `aliases`): `pulumi up` moves it, never replaces it. */
    readonly aliases: string[];
    /** Input paths that are secret (shown as "[secret]"). */
    readonly secretInputs: string[];
    /**
     * A digest of each secret input's value, by path: lets `--against` see that a secret input
     * changed (as `pulumi preview` does) without the value ever being kept or printed.
     */
    readonly secretDigests: Record<string, string>;
    /** For each input that comes from other resources' outputs, those resources' URNs. */
    readonly propertyDependencies: Record<string, string[]>;
    readonly options: ResourceOptionsRecord;
}

export interface FunctionCall {
    readonly token: string;
    readonly args: Record<string, unknown>;
}

function isSecretWrapper(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[sigKey] === secretSig;
}

/** Replaces secret values by the placeholder and collects their paths. */
export function redactSecrets(
    value: unknown,
    path = "",
    found: string[] = [],
    digests: Record<string, string> = {},
): unknown {
    if (isSecretWrapper(value)) {
        found.push(path);
        digests[path] = createHash("sha256")
            .update(JSON.stringify(unwrapSecrets(value.value)) ?? "undefined")
            .digest("hex");
        return secretPlaceholder;
    }
    if (Array.isArray(value)) {
        return value.map((v, i) => redactSecrets(v, `${path}[${i}]`, found, digests));
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, redactSecrets(v, path ? `${path}.${k}` : k, found, digests)]),
        );
    }
    return value;
}

/**
 * Assets as the engine keeps them in state: a file asset is its path and the sha256 of its
 * content (what `pulumi preview` compares), never the content. `raw` is the same value as sent.
 */
export function describeAssets(value: unknown, raw: unknown): unknown {
    const isAsset = (v: unknown): boolean => pulumi.asset.Asset.isInstance(v) || pulumi.asset.Archive.isInstance(v);
    if (isAsset(value)) {
        const r = raw as Record<string, unknown>;
        if (typeof r.path === "string") {
            const file = resolve(r.path);
            const sha256 = existsSync(file) ? createHash("sha256").update(readFileSync(file)).digest("hex") : "missing";
            return { [pulumi.asset.Asset.isInstance(value) ? "fileAsset" : "fileArchive"]: r.path, sha256 };
        }
        return { asset: typeof r.text === "string" ? `text, ${Buffer.byteLength(r.text)} bytes` : "remote" };
    }
    if (Array.isArray(value)) {
        return value.map((v, i) => describeAssets(v, (raw as unknown[] | undefined)?.[i]));
    }
    if (typeof value === "object" && value !== null) {
        const r = (raw ?? {}) as Record<string, unknown>;
        const inner = isSecretWrapper(value) ? { ...value, value: describeAssets(value.value, r.value) } : undefined;
        return inner ?? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describeAssets(v, r[k])]));
    }
    return value;
}

function unwrapSecrets(value: unknown): unknown {
    if (isSecretWrapper(value)) {
        return unwrapSecrets(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

function propertyDependencies(req: any): Record<string, string[]> {
    const deps: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((value: any, key: string) => {
        const urns: string[] = value.getUrnsList();
        if (urns.length > 0) {
            deps[key] = [...new Set(urns)].sort();
        }
    });
    return deps;
}

/** The URN a resource with `type` and `name` under `parentUrn` gets (the engine's rule). */
export function urnOf(stack: string, project: string, type: string, name: string, parentUrn: string): string {
    const parentType = parentUrn ? parentUrn.split("::")[2] : "";
    return `urn:pulumi:${stack}::${project}::${parentType ? `${parentType}$` : ""}${type}::${name}`;
}

/** The alias URNs of a registration: full URNs, or specs resolved against the resource's own type and parent. */
function aliasUrns(req: any, urn: string): string[] {
    const [head, project] = urn.split("::");
    const stack = head.replace(/^urn:pulumi:/, "");
    return req
        .getAliasesList()
        .map((alias: any) => {
            if (alias.getUrn()) {
                return alias.getUrn();
            }
            const spec = alias.getSpec();
            const parent = spec.getNoparent() ? "" : spec.getParenturn() || (req.getParent() ?? "");
            return urnOf(
                spec.getStack() || stack,
                spec.getProject() || project,
                spec.getType() || req.getType(),
                spec.getName() || req.getName(),
                parent,
            );
        })
        .sort();
}

function timeouts(req: any): ResourceOptionsRecord["customTimeouts"] {
    const t = req.getCustomtimeouts();
    const pick = (v: string | undefined) => (v ? v : undefined);
    return t
        ? Object.fromEntries(
              Object.entries({
                  create: pick(t.getCreate()),
                  update: pick(t.getUpdate()),
                  delete: pick(t.getDelete()),
              }).filter(([, v]) => v),
          )
        : {};
}

export class Recorder {
    readonly resources: PlannedResource[] = [];
    readonly calls: FunctionCall[] = [];
    private readonly byId = new Map<string, Record<string, any>>();
    private readonly known = (type: string, id: string) => this.byId.get(`${type} ${id}`);

    constructor(private readonly stack: StackContext = { region: "us-east-1" }) {}

    readonly mocks: pulumi.runtime.Mocks = {
        newResource: (args) => {
            const inputs = unwrapSecrets(args.inputs) as Record<string, any>;
            const extra = resourceOutputs[args.type]?.(args.name, inputs, this.known, this.stack) ?? {};
            const id = args.custom ? (resourceIds[args.type]?.(args.name) ?? `${args.name}-id`) : undefined;
            if (id !== undefined) {
                this.byId.set(`${args.type} ${id}`, inputs);
            }
            return { id, state: { ...args.inputs, ...extra } };
        },
        call: (args) => {
            this.calls.push({ token: args.token, args: redactSecrets(args.inputs) as Record<string, unknown> });
            const answer = functionResults[args.token];
            return answer ? answer(unwrapSecrets(args.inputs) as Record<string, any>, this.stack) : args.inputs;
        },
    };

    /** Wraps the mock monitor's registerResource to see the request the engine would get. */
    attach(): void {
        const monitor = currentMonitor();
        const original = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
            original(req, (err: any, resp: any) => {
                if (!err && resp) {
                    this.record(req, resp.getUrn());
                }
                callback(err, resp);
            });
        };
    }

    private record(req: any, urn: string): void {
        const secretInputs: string[] = [];
        const secretDigests: Record<string, string> = {};
        const struct = req.getObject();
        const inputs = redactSecrets(
            describeAssets(deserializeProperties(struct), struct.toJavaScript()),
            "",
            secretInputs,
            secretDigests,
        ) as Record<string, unknown>;
        this.resources.push({
            urn,
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent() ?? "",
            custom: req.getCustom(),
            aliases: aliasUrns(req, urn),
            inputs,
            secretInputs,
            secretDigests,
            propertyDependencies: propertyDependencies(req),
            options: {
                protect: Boolean(req.getProtect()),
                retainOnDelete: Boolean(req.getRetainondelete()),
                deleteBeforeReplace: Boolean(req.getDeletebeforereplace()),
                ignoreChanges: req.getIgnorechangesList(),
                dependsOn: [...new Set<string>(req.getDependenciesList())].sort(),
                deletedWith: req.getDeletedwith() ?? "",
                replaceOnChanges: req.getReplaceonchangesList(),
                additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                customTimeouts: timeouts(req),
            },
        });
    }
}

/** Installs the mocks (preview mode, like `pulumi preview`) and the recorder. */
export async function startMockRuntime(
    project: string,
    stack: string,
    config: Record<string, string>,
    secretKeys: string[],
): Promise<Recorder> {
    const recorder = new Recorder({ region: config["aws:region"] ?? "us-east-1" });
    pulumi.runtime.setAllConfig(config, secretKeys);
    await pulumi.runtime.setMocks(recorder.mocks, project, stack, true);
    recorder.attach();
    return recorder;
}

/** Waits until every registration the program started has been answered. */
export async function settle(): Promise<void> {
    await waitForRPCs();
}
