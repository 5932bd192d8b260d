/**
 * Which of a resource's inputs are secrets, as the engine sent them to the policy pack.
 *
 * The engine sends a policy pack every secret input still marked as a secret (it marshals the
 * inputs with `KeepSecrets`), but @pulumi/policy (1.21.0, `server.js`) deserializes them with
 * `proxySecrets: false` before any policy runs: in `args.props` a secret and a plain value look
 * the same, and no resource or stack policy can tell whether an input is a secret. So this module
 * wraps the SDK's deserializer (`@pulumi/policy/deserialize`, which `server.js` calls through its
 * exports object) to record, before the marks are dropped, the paths of the secret values. They
 * are kept on the deserialized object under a symbol, non-enumerable and read-only, which the
 * SDK's unknown-checking proxy hands back unchanged.
 *
 * `inputsSeen(args.props)` is undefined when the hook did not run (a newer SDK that deserializes
 * elsewhere): the secrets policy then fails closed instead of passing everything.
 * tests/unit/policy.test.ts runs the SDK's own analyze handler to prove that the hook sees what the
 * engine sends.
 */
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

/** What the hook recorded about one resource's inputs. */
export interface InputsSeen {
    /** Paths of the secret inputs, written like `userData`, `connection.privateKey`, `tags[0]`. */
    readonly secretPaths: readonly string[];
    /** The inputs with secrets unwrapped and unknowns as the SDK's sentinels, never through a proxy. */
    readonly raw: Record<string, unknown>;
}

const seen = Symbol.for("microvm-infra.policy.inputsSeen");
const wrapped = Symbol.for("microvm-infra.policy.deserializerWrapped");

function isSecretWrapper(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[specialSigKey] === specialSecretSig;
}

/** Paths of the values marked secret in a marshalled property map (`Struct.toJavaScript()`). */
export function secretPathsOf(value: unknown, path = "", found: string[] = []): string[] {
    if (isSecretWrapper(value)) {
        found.push(path);
        secretPathsOf(value.value, path, found);
    } else if (Array.isArray(value)) {
        value.forEach((v, i) => secretPathsOf(v, `${path}[${i}]`, found));
    } else if (typeof value === "object" && value !== null) {
        for (const [k, v] of Object.entries(value)) {
            secretPathsOf(v, path ? `${path}.${k}` : k, found);
        }
    }
    return [...new Set(found)];
}

/** True when `path` or one of its ancestors (`connection` for `connection.privateKey`) is secret. */
export function isUnderSecret(path: string, secretPaths: readonly string[]): boolean {
    return secretPaths.some((s) => s === "" || path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`));
}

type Deserialize = (
    struct: { toJavaScript(): Record<string, unknown> },
    proxySecrets: boolean,
) => Record<string, unknown>;

/**
 * Wraps @pulumi/policy's deserializer (once per process) so that every resource's props carry
 * their secret paths. Returns false if the SDK no longer has the function to wrap.
 */
export function installSecretPathHook(): boolean {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require("@pulumi/policy/deserialize") as { deserializeProperties?: Deserialize & { [wrapped]?: true } };
    const original = mod.deserializeProperties;
    if (typeof original !== "function") {
        return false;
    }
    if (original[wrapped]) {
        return true;
    }
    const hooked: Deserialize & { [wrapped]?: true } = (struct, proxySecrets) => {
        const result = original(struct, proxySecrets);
        if (!proxySecrets && typeof result === "object" && result !== null) {
            const info: InputsSeen = { secretPaths: secretPathsOf(struct.toJavaScript()), raw: result };
            Object.defineProperty(result, seen, {
                value: info,
                enumerable: false,
                writable: false,
                configurable: false,
            });
        }
        return result;
    };
    hooked[wrapped] = true;
    mod.deserializeProperties = hooked;
    return true;
}

/** What the hook recorded for these props (`args.props`), or undefined if it did not run. */
export function inputsSeen(props: Record<string, unknown>): InputsSeen | undefined {
    return (props as Record<symbol, InputsSeen | undefined>)[seen];
}
