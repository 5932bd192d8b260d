/**
 * Which config keys exist: the project's namespace and its top-level keys, and the providers'
 * namespaces. A key under any other namespace is a typo (`microvm:slots`), never silently ignored.
 */
export const configNamespace = "microvm-infra";

/** The keys holding objects or maps (JSON text in the engine's flat config). */
export const structuredKeys = [
    "host",
    "hosts",
    "network",
    "storage",
    "tailscale",
    "slots",
    "states",
    "observability",
] as const;

/** Every top-level key: the structured ones, then the two that hold one string each. */
export const topLevelKeys = [...structuredKeys, "sshPrivateKey", "alertWebhookUrl"] as const;

/** Namespaces of the providers this program uses, and the engine's own. */
export const providerNamespaces = ["aws", "tailscale", "tls", "command", "pulumi"] as const;

/** One "key: message" line per config key (`ns:key` as the engine lists them) that nothing reads. */
export function unknownKeyProblems(keys: readonly string[]): string[] {
    const problems: string[] = [];
    for (const full of keys) {
        const at = full.indexOf(":");
        const ns = at < 0 ? "" : full.slice(0, at);
        const key = full.slice(at + 1);
        if (ns === configNamespace) {
            if (!(topLevelKeys as readonly string[]).includes(key)) {
                problems.push(`${key}: unknown key in ${configNamespace}; valid keys are ${topLevelKeys.join(", ")}`);
            }
        } else if (!(providerNamespaces as readonly string[]).includes(ns)) {
            const hint = (topLevelKeys as readonly string[]).includes(key)
                ? ` (did you mean ${configNamespace}:${key}?)`
                : "";
            problems.push(
                `${full}: unknown namespace "${ns}", so nothing would read this key${hint}; ` +
                    `this project reads ${configNamespace}:<key> and the providers' ${providerNamespaces.join(":, ")}: keys`,
            );
        }
    }
    return problems;
}
