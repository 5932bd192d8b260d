import { shown } from "./redact";
import { rules, whole } from "./rules";

/**
 * OpenSSH public key lines: `<type> <base64 blob> [comment]`, one key per line. The blob is parsed
 * field by field (RFC 4253, 5656, 8709 and OpenSSH's sk- formats) so that a key type with no key
 * data, a truncated paste or a blob of another type is refused, and a private key or a second key
 * pasted into the same entry never reaches infra.json or AWS.
 */
export const sshKeyTypes = rules.sshPublicKey.types as readonly KeyType[];

type KeyType =
    | "ssh-ed25519"
    | "ecdsa-sha2-nistp256"
    | "ecdsa-sha2-nistp384"
    | "ecdsa-sha2-nistp521"
    | "sk-ssh-ed25519@openssh.com"
    | "sk-ecdsa-sha2-nistp256@openssh.com"
    | "ssh-rsa";

/**
 * The line as the host's check (nixos/lib/rules.nix) matches it, from the same data: the key goes
 * to authorized_keys, known_hosts and EC2 exactly as written, so nothing is trimmed or re-spaced.
 */
const linePattern = whole(
    `(${rules.sshPublicKey.types.map((t) => t.replace(/[.]/g, "[.]")).join("|")}) ${rules.sshPublicKey.blob}${rules.sshPublicKey.comment}`,
);

/** What is wrong with the spacing or the characters of a key line, in the user's terms, or undefined. */
function layoutProblem(key: string): string | undefined {
    const checks: [boolean, string][] = [
        [key.startsWith("\ufeff"), "starts with a byte-order mark (U+FEFF): save the file without a BOM"],
        [
            /[\r\n]/.test(key.replace(/\r?\n$/, "")),
            `must be a single line holding one key; put each key in its own entry (got ${key.split(/\r?\n/).length} lines starting ${preview(key)})`,
        ],
        [/\r?\n$/.test(key), "ends with a line break (\\n or \\r\\n): remove it"],
        [key.includes("\t"), "has a tab: separate the fields with single spaces"],
        [key.includes("\u00a0"), "has a no-break space (U+00A0): separate the fields with plain single spaces"],
        [/^[ ]|[ ]$/.test(key), "starts or ends with a space: remove it"],
        [key.includes("  "), "has two spaces in a row: separate the fields with single spaces"],
        [
            /[^ -~]/.test(key),
            "has a character outside printable ASCII (in the comment?): the host accepts printable ASCII only",
        ],
    ];
    const found = checks.find(([bad]) => bad);
    return found ? found[1] : undefined;
}

/** What follows the type name in the blob, and the checks on it. */
const layouts: Record<KeyType, (fields: Buffer[]) => boolean> = {
    "ssh-ed25519": ([key]) => key.length === 32,
    "ecdsa-sha2-nistp256": ([curve, q]) => curve.toString("latin1") === "nistp256" && q.length === 65,
    "ecdsa-sha2-nistp384": ([curve, q]) => curve.toString("latin1") === "nistp384" && q.length === 97,
    "ecdsa-sha2-nistp521": ([curve, q]) => curve.toString("latin1") === "nistp521" && q.length === 133,
    "sk-ssh-ed25519@openssh.com": ([key, application]) => key.length === 32 && application.length > 0,
    "sk-ecdsa-sha2-nistp256@openssh.com": ([curve, q, application]) =>
        curve.toString("latin1") === "nistp256" && q.length === 65 && application.length > 0,
    // e and n as mpints: at least a 1024-bit modulus (OpenSSH refuses smaller ones).
    "ssh-rsa": ([e, n]) => e.length > 0 && n.length >= 128,
};
const fieldCounts: Record<KeyType, number> = {
    "ssh-ed25519": 1,
    "ecdsa-sha2-nistp256": 2,
    "ecdsa-sha2-nistp384": 2,
    "ecdsa-sha2-nistp521": 2,
    "sk-ssh-ed25519@openssh.com": 2,
    "sk-ecdsa-sha2-nistp256@openssh.com": 3,
    "ssh-rsa": 2,
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
    const layout = layoutProblem(key);
    if (layout) {
        return layout;
    }
    const [type, blob, ...comment] = key.split(" ");
    if (!(sshKeyTypes as readonly string[]).includes(type) || blob === undefined || !base64.test(blob)) {
        return `${expected}, got ${preview(key)}`;
    }
    if (!linePattern.test(key)) {
        return `must be ${rules.sshPublicKey.valid}`;
    }
    const parts = fields(Buffer.from(blob, "base64"));
    const t = type as KeyType;
    if (!parts || parts.length === 0 || parts[0].toString("latin1") !== type) {
        return `${expected}; the key data of ${preview(key)} does not encode a ${type} key`;
    }
    if (parts.length - 1 !== fieldCounts[t] || !layouts[t](parts.slice(1))) {
        return `${expected}; the key data of ${preview(key)} is not a complete ${type} key (truncated, or a type name with no key)`;
    }
    if (
        comment.some(
            (word, i) => (sshKeyTypes as readonly string[]).includes(word) && base64.test(comment[i + 1] ?? ""),
        )
    ) {
        return "holds two keys in one entry; put each key in its own entry of host.sshPublicKeys";
    }
    return undefined;
}
