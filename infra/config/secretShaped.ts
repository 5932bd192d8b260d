/**
 * No key of the project's namespace is secret: each is kept in clear in the stack file and copied
 * into infra.json, the plan, `--json`, AWS (the EC2 key pair, tags) and the review. So a value, or
 * a map key, that looks like a secret (lib/redact.ts: a private key, a Tailscale or AWS key, a
 * random token) is refused wherever it is, never echoed. An SSH public key's base64 blob is
 * public: only its comment is looked at.
 */
import { secretKind } from "../../lib/redact";
import { sshKeyTypes } from "../../lib/sshKey";
import { RawObject } from "./reader";

/** Config paths holding an OpenSSH public key line. */
const publicKeyPath = /^host\.sshPublicKeys\[\d+\]$/;

/** What a public key line says besides its key: the comment (the whole line if it is no key line). */
function publicKeyComment(line: string): string {
    const [type, blob, ...comment] = line.trim().split(/\s+/);
    return (sshKeyTypes as readonly string[]).includes(type) &&
        blob !== undefined &&
        /^[A-Za-z0-9+/]+={0,2}$/.test(blob)
        ? comment.join(" ")
        : line;
}

const advice =
    "this key is not secret (it is kept in clear in the stack file and copied into infra.json, the plan and AWS): remove it; " +
    "credentials belong in the providers' secret keys (pulumi config set --secret tailscale:apiKey ...)";

/** One "key: message" line per secret-shaped value or map key under `raw` (the namespace's keys, unprefixed). */
export function secretShapedProblems(raw: RawObject): string[] {
    const lines: string[] = [];
    const visit = (path: string, value: unknown): void => {
        if (typeof value === "string") {
            // A private key pasted as a public key is host.sshPublicKeys' own message (lib/sshKey.ts).
            const pem = publicKeyPath.test(path) && /PRIVATE KEY/.test(value);
            const kind = pem ? undefined : secretKind(publicKeyPath.test(path) ? publicKeyComment(value) : value);
            if (kind !== undefined) {
                lines.push(`${path}: holds what looks like ${kind} (not shown); ${advice}`);
            }
        } else if (Array.isArray(value)) {
            value.forEach((v, i) => visit(`${path}[${i}]`, v));
        } else if (typeof value === "object" && value !== null) {
            for (const [key, v] of Object.entries(value)) {
                const kind = secretKind(key);
                if (kind !== undefined) {
                    lines.push(`${path}: has a key that looks like ${kind} (not shown); ${advice}`);
                } else {
                    visit(`${path}.${key}`, v);
                }
            }
        }
    };
    for (const [key, value] of Object.entries(raw)) {
        visit(key, value);
    }
    return lines;
}
