/**
 * The Tailscale provider's credentials live in the stack config under the provider's namespace
 * (`tailscale:apiKey`, or `tailscale:oauthClientId` + `tailscale:oauthClientSecret`, and
 * `tailscale:tailnet`). This check refuses them in clear text, where they would be committed with
 * the stack file, and names the conflicting or incomplete combinations before the provider does.
 * Pure: it takes the config keys and which of them are secret. Credentials may also come from the
 * provider's environment variables (TAILSCALE_API_KEY, ...), so none is required here.
 */

/** Config keys whose values are credentials: they must be set with `pulumi config set --secret`. */
export const tailscaleSecretKeys = [
    "tailscale:apiKey",
    "tailscale:oauthClientId",
    "tailscale:oauthClientSecret",
] as const;

/** Every problem with the Tailscale provider's credentials, as "key: message" lines; empty when fine. */
export function tailscaleCredentialProblems(
    configKeys: readonly string[],
    isSecret: (key: string) => boolean,
): string[] {
    const has = (k: string) => configKeys.includes(k);
    const problems: string[] = [];
    for (const key of tailscaleSecretKeys) {
        if (has(key) && !isSecret(key)) {
            problems.push(
                `${key}: is stored in clear text in the stack file; set it again with \`pulumi config set --secret ${key} ...\``,
            );
        }
    }
    const oauth = has("tailscale:oauthClientId") || has("tailscale:oauthClientSecret");
    if (has("tailscale:apiKey") && oauth) {
        problems.push(
            "tailscale:apiKey: conflicts with tailscale:oauthClientId/oauthClientSecret; keep either the API key or the OAuth client (docs/tailscale.md)",
        );
    }
    if (has("tailscale:oauthClientId") !== has("tailscale:oauthClientSecret")) {
        const missing = has("tailscale:oauthClientId") ? "tailscale:oauthClientSecret" : "tailscale:oauthClientId";
        problems.push(
            `${missing}: is required with ${missing === "tailscale:oauthClientId" ? "tailscale:oauthClientSecret" : "tailscale:oauthClientId"}: an OAuth client is an id and a secret`,
        );
    }
    return problems;
}
