/**
 * What the TLS provider (terraform-provider-tls, bridged by @pulumi/tls) imposes. Lines at
 * `terraform-provider-tls@v4.2.1+23` under `internal/provider/` (revisions.ts).
 */
import { CodeSource, Constraint, entries, readsBackAsSent, Rule } from "./types";

const tlsSrc = (file: string, line: number): CodeSource => ({
    rev: "terraform-provider-tls@v4.2.1+23",
    path: `internal/provider/${file}`,
    line,
});
const replace: Rule = { kind: "forcesReplacement" };

export const tlsConstraints: Constraint[] = entries("tls:index/privateKey:PrivateKey", [
    {
        property: "algorithm",
        rules: [
            { kind: "enum", values: ["RSA", "ECDSA", "ED25519"] },
            replace,
            readsBackAsSent(
                'kept from the state: the Read is a no-op ("all there is to read is in the State")',
                tlsSrc("resource_private_key.go", 265),
            ),
        ],
        sources: [tlsSrc("resource_private_key.go", 57), tlsSrc("types.go", 15)],
    },
    { property: "rsaBits", rules: [replace], sources: [tlsSrc("resource_private_key.go", 70)] },
    { property: "ecdsaCurve", rules: [replace], sources: [tlsSrc("resource_private_key.go", 79)] },
]);
