/**
 * OpenSSH public key lines: `<type> <base64 blob> [comment]`, one key per line. The blob is parsed
 * field by field (RFC 4253, 5656, 8709 and OpenSSH's sk- formats) so that a key type with no key
 * data, a truncated paste or a blob of another type is refused, and a private key or a second key
 * pasted into the same entry never reaches infra.json or AWS.
 */
import { shown } from "./redact";

export const sshKeyTypes = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-rsa",
] as const;

type KeyType = typeof sshKeyTypes[number];

/** What follows the type name in the blob, and the checks on it. */
const layouts: Record<KeyType, (fields: Buffer[]) => boolean> = {
    "ssh-ed25519": ([key]) => key.length === 32,
    "ecdsa-sha2-nistp256": ([curve, q]) => curve.toString("latin1") === "nistp256" && q.length === 65,
    "ecdsa-sha2-nistp384": ([curve, q]) => curve.toString("latin1") === "nistp384" && q.length === 97,
    "ecdsa-sha2-nistp521": ([curve, q]) => curve.toString("latin1") === "nistp521" && q.length === 133,
    "sk-ssh-ed25519@openssh.com": ([key, application]) => key.length === 32 && application.length > 0,
    "sk-ecdsa-sha2-nistp256@openssh.com": ([curve, q, application]) => curve.toString("latin1") === "nistp256" && q.length === 65 && application.length > 0,
    // e and n as mpints: at least a 1024-bit modulus (OpenSSH refuses smaller ones).
    "ssh-rsa": ([e, n]) => e.length > 0 && n.length >= 128,
};
const fieldCounts: Record<KeyType, number> = {
    "ssh-ed25519": 1, "ecdsa-sha2-nistp256": 2, "ecdsa-sha2-nistp384": 2, "ecdsa-sha2-nistp521": 2,
    "sk-ssh-ed25519@openssh.com": 2, "sk-ecdsa-sha2-nistp256@openssh.com": 3, "ssh-rsa": 2,
};

/** The length-prefixed fields of an SSH wire-format blob, or undefined if it does not split exactly. */
function fields(blob: Buffer): Buffer[] | undefined {
    const out: Buffer[] = [];
    let at = 0;
    while (at < blob.length) {
        if (at + 4 > blob.length) {
            return undefined;
        }
        const len = blob.readUInt32BE(at);
        if (at + 4 + len > blob.length) {
            return undefined;
        }
        out.push(blob.subarray(at + 4, at + 4 + len));
        at += 4 + len;
    }
    return out;
}

/** The start of a key line as a message quotes it (lib/redact.ts: never a secret-shaped one). */
function preview(key: string): string {
    return shown(key.split(/\r?\n/)[0], 24);
}

const base64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Why `key` is not exactly one OpenSSH public key line, or undefined when it is. */
/** A public key line without its comment: `<type> <base64>` (known_hosts and pinned host keys). */
export function keyWithoutComment(line: string): string {
    return line.trim().split(/\s+/).slice(0, 2).join(" ");
}

export function checkSshPublicKey(key: string): string | undefined {
    const expected = `must be an OpenSSH public key line "<type> <base64> [comment]" with type ${sshKeyTypes.join(", ")}`;
    if (/PRIVATE KEY/.test(key)) {
        return "holds a PRIVATE key: never put a private key in the stack config; use the public half (the .pub file)";
    }
    const text = key.trim();
    if (/[\r\n]/.test(text)) {
        return `must be a single line holding one key; put each key in its own entry (got ${text.split(/\r?\n/).length} lines starting ${preview(text)})`;
    }
    const [type, blob, ...comment] = text.split(/\s+/);
    if (!(sshKeyTypes as readonly string[]).includes(type) || blob === undefined || !base64.test(blob)) {
        return `${expected}, got ${preview(key)}`;
    }
    const parts = fields(Buffer.from(blob, "base64"));
    const t = type as KeyType;
    if (!parts || parts.length === 0 || parts[0].toString("latin1") !== type) {
        return `${expected}; the key data of ${preview(key)} does not encode a ${type} key`;
    }
    if (parts.length - 1 !== fieldCounts[t] || !layouts[t](parts.slice(1))) {
        return `${expected}; the key data of ${preview(key)} is not a complete ${type} key (truncated, or a type name with no key)`;
    }
    if (comment.some((word, i) => (sshKeyTypes as readonly string[]).includes(word) && base64.test(comment[i + 1] ?? ""))) {
        return "holds two keys in one entry; put each key in its own entry of host.sshPublicKeys";
    }
    return undefined;
}
