/**
 * The one rule for echoing a value a user wrote: a message may quote what was wrong, but never a
 * secret and never a whole long value. `shown(value)` is what every "got ..." in a message prints;
 * `redactText(text)` scrubs secret-shaped material out of free text (the plan's stderr before a
 * workflow posts it, every config problem as a last line of defence); `secretKind(text)` says what
 * secret a string looks like, so the stack config can refuse one in a key that is not secret.
 *
 * A secret is recognised by its shape (the table below, each shape with where it is defined) or,
 * for tokens without a fixed prefix (an AWS secret access key, a session token, an API token), by
 * looking random: a long run of letters and digits of mixed case whose characters change class
 * often, which words, CamelCase names, domains and identifiers like `ami-0123456789abcdef0` do not.
 */

export interface SecretShape {
    /** What a reader is told the value looks like: "a private key". */
    readonly kind: string;
    readonly pattern: RegExp;
    /** Where the format is defined. */
    readonly source: string;
    /** Plain base64: also what an SSH public key's blob looks like, which is not a secret. */
    readonly base64?: boolean;
}

/** Secrets with a recognisable shape. Patterns are global: every match is a span to redact. */
export const secretShapes: readonly SecretShape[] = [
    {
        kind: "a private key",
        pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----|[\s\S]*)/g,
        source: "RFC 7468 section 10-11 (PKCS #8 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY'); OpenSSH PROTOCOL.key ('OPENSSH PRIVATE KEY')",
    },
    {
        kind: "a private key",
        // base64 of "openssh-key-v1\0": the body of an OpenSSH private key without its armour.
        pattern: /b3BlbnNzaC1rZXktdjE[A-Za-z0-9+/=]*/g,
        source: 'OpenSSH PROTOCOL.key: the key blob starts with the magic "openssh-key-v1\\0"',
    },
    {
        kind: "a private key",
        pattern: /PuTTY-User-Key-File-\d[\s\S]*/g,
        source: "PuTTY's .ppk format (the first line names the file type)",
    },
    {
        kind: "a Tailscale key",
        pattern: /tskey-[A-Za-z0-9_-]*/g,
        source: "Tailscale auth keys, API access tokens and OAuth client secrets all start with tskey- (tskey-auth-, tskey-api-, tskey-client-; tailscale.com/kb/1085/auth-keys, /kb/1101/api)",
    },
    {
        kind: "an AWS access key id",
        pattern: /(?<![A-Z])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])/g,
        source: "AWS IAM User Guide, 'IAM identifiers', unique ID prefixes (AKIA: access key, ASIA: temporary access key)",
    },
    {
        kind: "an AWS secret access key (or another base64 secret)",
        // A run of 40 or more base64 characters with both cases, a digit and a '/' or '+' (random
        // ones without either are left to the random-run rule below).
        pattern:
            /(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9])(?=[A-Za-z0-9/+]*[/+])[A-Za-z0-9/+]{40,}/g,
        source: "AWS IAM User Guide, 'Managing access keys': a secret access key is 40 characters (the documented example wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY)",
        base64: true,
    },
    {
        kind: "a GitHub token",
        pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g,
        source: "GitHub docs, 'About authentication to GitHub', token prefixes (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
    },
    {
        kind: "a Pulumi access token",
        pattern: /\bpul-[0-9a-f]{40}\b/g,
        source: "Pulumi Cloud access tokens: pul- and 40 hex digits",
    },
];

/** Bits per character of `s`'s own character distribution. */
function entropy(s: string): number {
    const counts = new Map<string, number>();
    for (const c of s) {
        counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    let bits = 0;
    for (const n of counts.values()) {
        bits -= (n / s.length) * Math.log2(n / s.length);
    }
    return bits;
}

const charClass = (c: string) => (/[A-Z]/.test(c) ? "U" : /[a-z]/.test(c) ? "l" : /[0-9]/.test(c) ? "d" : "s");

/**
 * Whether `run` (letters, digits, + / = _ -) looks like a random token: 32 or more hex digits, or
 * at least 28 letters and digits of both cases that change class (upper, lower, digit) between at
 * least 2 of 5 neighbours. Random base64 changes class between about 2 of 3; words, CamelCase
 * names and hyphenated identifiers far less often.
 */
export function looksRandom(run: string): boolean {
    if (/^(?:[0-9a-f]{32,}|[0-9A-F]{32,})$/.test(run)) {
        return /[0-9]/.test(run) && /[a-fA-F]/.test(run);
    }
    // Separators ('-', '_', '+', '/', '=') are left out, so names made of words never add up.
    const alnum = run.replace(/[^A-Za-z0-9]/g, "");
    if (alnum.length < 28 || !/[A-Z]/.test(alnum) || !/[a-z]/.test(alnum) || !/[0-9]/.test(alnum)) {
        return false;
    }
    let changes = 0;
    for (let i = 1; i < alnum.length; i++) {
        changes += charClass(alnum[i]) === charClass(alnum[i - 1]) ? 0 : 1;
    }
    return entropy(alnum) >= 4 && changes >= 0.4 * (alnum.length - 1);
}

/** The SSH public key types whose base64 blob follows them on a key line (the blob is public). */
const publicKeyType =
    /(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+$/;

interface Span {
    readonly start: number;
    readonly end: number;
    readonly kind: string;
}

/** Every secret-shaped span of `text`, in order, not overlapping. */
export function findSecrets(text: string): Span[] {
    const spans: Span[] = [];
    const publicBlob = (at: number) => publicKeyType.test(text.slice(Math.max(0, at - 48), at));
    for (const shape of secretShapes) {
        for (const m of text.matchAll(shape.pattern)) {
            if (!(shape.base64 && publicBlob(m.index!))) {
                spans.push({ start: m.index!, end: m.index! + m[0].length, kind: shape.kind });
            }
        }
    }
    // Random-looking runs of base64 or base64url (split at '.', ':', spaces and the like).
    for (const m of text.matchAll(/[A-Za-z0-9+/=_-]{32,}/g)) {
        if (!publicBlob(m.index!) && looksRandom(m[0])) {
            spans.push({
                start: m.index!,
                end: m.index! + m[0].length,
                kind: "a secret key or token (a long random string)",
            });
        }
    }
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    const merged: Span[] = [];
    for (const s of spans) {
        const last = merged[merged.length - 1];
        if (last && s.start < last.end) {
            merged[merged.length - 1] = { ...last, end: Math.max(last.end, s.end) };
        } else {
            merged.push(s);
        }
    }
    return merged;
}

/** What secret `text` looks like ("a Tailscale key"), or undefined when it looks like none. */
export function secretKind(text: string): string | undefined {
    return findSecrets(text)[0]?.kind;
}

/** `text` with every secret-shaped part replaced by `[not shown: it looks like ...]`. */
export function redactText(text: string): string {
    let out = "";
    let at = 0;
    for (const s of findSecrets(text)) {
        out += `${text.slice(at, s.start)}[not shown: it looks like ${s.kind}]`;
        at = s.end;
    }
    return out + text.slice(at);
}

/** A word (a run without spaces) of a message longer than this is cut: `capWords`. */
export const wordLimit = 100;

/**
 * `text` with every word longer than `wordLimit` cut to `echoLimit` characters and its length: a
 * message that names a key path or a value some other way never carries a long value whole.
 */
export function capWords(text: string): string {
    return text.replace(
        new RegExp(`\\S{${wordLimit + 1},}`, "g"),
        (w) => `${w.slice(0, echoLimit)}... (${w.length} characters)`,
    );
}

/** How many characters of a value a message may quote. */
export const echoLimit = 40;

/**
 * A value as a message quotes it: JSON (a string in double quotes, control characters escaped),
 * at most `echoLimit` characters of it with the full length named, and nothing at all of a value
 * that looks like a secret.
 */
export function shown(value: unknown, limit = echoLimit): string {
    const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
    const kind = secretKind(text);
    if (kind !== undefined) {
        return `a value that looks like ${kind} (not shown)`;
    }
    if (text.length <= limit) {
        return typeof value === "string" ? JSON.stringify(value) : text;
    }
    const head = JSON.stringify(text.slice(0, limit));
    return `${head.slice(0, -1)}..." (${text.length} characters)`;
}
