import { tailscaleCredentialProblems } from "../../components/tailscale/credentials";

const secret =
    (...keys: string[]) =>
    (k: string) =>
        keys.includes(k);

describe("tailscaleCredentialProblems", () => {
    test.each([
        ["no credentials (environment variables)", [], secret(), []],
        ["a secret API key", ["tailscale:apiKey", "tailscale:tailnet"], secret("tailscale:apiKey"), []],
        [
            "a secret OAuth client",
            ["tailscale:oauthClientId", "tailscale:oauthClientSecret"],
            secret("tailscale:oauthClientId", "tailscale:oauthClientSecret"),
            [],
        ],
        ["the tailnet name in clear text", ["tailscale:tailnet", "tailscale:apiKey"], secret("tailscale:apiKey"), []],
        [
            "an API key in clear text",
            ["tailscale:apiKey"],
            secret(),
            [
                "tailscale:apiKey: is stored in clear text in the stack file; set it again with `pulumi config set --secret tailscale:apiKey ...`",
            ],
        ],
        [
            "an API key and an OAuth client",
            ["tailscale:apiKey", "tailscale:oauthClientId", "tailscale:oauthClientSecret"],
            secret("tailscale:apiKey", "tailscale:oauthClientId", "tailscale:oauthClientSecret"),
            [
                "tailscale:apiKey: conflicts with tailscale:oauthClientId/oauthClientSecret; keep either the API key or the OAuth client (docs/tailscale.md)",
            ],
        ],
        [
            "an OAuth client id without its secret",
            ["tailscale:oauthClientId"],
            secret("tailscale:oauthClientId"),
            [
                "tailscale:oauthClientSecret: is required with tailscale:oauthClientId: an OAuth client is an id and a secret",
            ],
        ],
        [
            "an OAuth secret in clear text without its id",
            ["tailscale:oauthClientSecret"],
            secret(),
            [
                "tailscale:oauthClientSecret: is stored in clear text in the stack file; set it again with `pulumi config set --secret tailscale:oauthClientSecret ...`",
                "tailscale:oauthClientId: is required with tailscale:oauthClientSecret: an OAuth client is an id and a secret",
            ],
        ],
    ])("%s", (_what, keys, isSecret, expected) => {
        expect(tailscaleCredentialProblems(keys, isSecret)).toEqual(expected);
    });
});
