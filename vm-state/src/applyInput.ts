/**
 * `apply`'s input: one JSON document `{"slots": {"SLOT": "STATE", ...}}` and nothing else, read
 * with a size limit (a slot map of 254 slots is a few KiB) and parsed in linear time. Every way it
 * can be wrong is a usage error (exit 2) before anything is locked or changed.
 */
import { usage } from "./errors";
import { shown, systemMessage } from "./text";

export const applyExample = '{"slots": {"slot1": "web"}} (slot name -> state name)';
/** The largest input `apply` reads. */
export const applyInputLimit = 1024 * 1024;

const isJsonSpace = (c: string): boolean => c === " " || c === "\t" || c === "\n" || c === "\r";

/** Where the JSON value starting at `i` ends (one past it), or -1 when it does not end. */
function valueEnd(text: string, i: number): number {
    const first = text[i];
    if (first === '"') {
        for (let j = i + 1; j < text.length; j++) {
            if (text[j] === "\\") {
                j++;
            } else if (text[j] === '"') {
                return j + 1;
            }
        }
        return -1;
    }
    if (first === "{" || first === "[") {
        let depth = 0;
        for (let j = i; j < text.length; j++) {
            const c = text[j];
            if (c === '"') {
                const end = valueEnd(text, j);
                if (end < 0) {
                    return -1;
                }
                j = end - 1;
            } else if (c === "{" || c === "[") {
                depth++;
            } else if (c === "}" || c === "]") {
                depth--;
                if (depth === 0) {
                    return j + 1;
                }
            }
        }
        return -1;
    }
    let j = i;
    while (j < text.length && !isJsonSpace(text[j]) && !'{}[]",'.includes(text[j])) {
        j++;
    }
    return j > i ? j : -1;
}

/** The JSON documents in TEXT, one after the other (as `jq -s` reads them), or undefined if any is not JSON. */
export function jsonDocuments(text: string): unknown[] | undefined {
    const docs: unknown[] = [];
    let i = 0;
    for (;;) {
        while (i < text.length && isJsonSpace(text[i])) {
            i++;
        }
        if (i >= text.length) {
            return docs;
        }
        const end = valueEnd(text, i);
        if (end < 0) {
            return undefined;
        }
        try {
            docs.push(JSON.parse(text.slice(i, end)));
        } catch {
            return undefined;
        }
        i = end;
    }
}

/** The slot map of `apply`'s input, as [slot, state] pairs in the input's order. */
export function parseApplyInput(bytes: Buffer): [string, string][] {
    if (bytes.length > applyInputLimit) {
        throw usage(`apply input is larger than ${applyInputLimit} bytes; it must be JSON like ${applyExample}`);
    }
    if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        throw usage(`apply input starts with a byte order mark; it must be plain UTF-8 JSON like ${applyExample}`);
    }
    let text: string;
    try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
        throw usage(`apply input is not UTF-8; it must be JSON like ${applyExample}`);
    }
    if (/^[ \t\n\r\v\f]*$/.test(text)) {
        throw usage(`apply input is empty; it must be JSON like ${applyExample}`);
    }
    const docs = jsonDocuments(text);
    if (docs !== undefined && docs.length > 1) {
        throw usage(`apply input holds several JSON documents; give exactly one, like ${applyExample}`);
    }
    const doc = docs?.[0];
    const isObject = (v: unknown): v is Record<string, unknown> =>
        typeof v === "object" && v !== null && !Array.isArray(v);
    if (!isObject(doc) || !isObject(doc.slots) || !Object.values(doc.slots).every((v) => typeof v === "string")) {
        throw usage(`apply input must be JSON like ${applyExample}`);
    }
    const unknown = Object.keys(doc).filter((k) => k !== "slots");
    if (unknown.length > 0) {
        throw usage(`apply input must be JSON like ${applyExample}: unknown key ${shown(unknown[0])}`);
    }
    return Object.entries(doc.slots as Record<string, string>);
}

/**
 * A stream's bytes, up to LIMIT (one chunk more shows the input is too large: a usage error at
 * once, without reading the rest). A signal stops the wait (the bash version read 30 MB to the end
 * before it looked at a SIGTERM).
 */
export function readLimited(
    stream: NodeJS.ReadableStream,
    signal: AbortSignal | undefined,
    limit: number,
): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const onData = (chunk: Buffer | string): void => {
            const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
            chunks.push(b);
            size += b.length;
            if (size > limit) {
                finish(usage(`apply input is larger than ${limit} bytes`));
            }
        };
        const onEnd = (): void => finish();
        const onError = (err: Error): void => finish(usage(`cannot read stdin: ${systemMessage(err)}`));
        const onAbort = (): void => finish(signal?.reason);
        const finish = (err?: unknown): void => {
            signal?.removeEventListener("abort", onAbort);
            stream.removeListener("data", onData);
            stream.removeListener("end", onEnd);
            stream.removeListener("error", onError);
            stream.pause();
            if (err !== undefined) {
                reject(err);
            } else {
                resolve(Buffer.concat(chunks));
            }
        };
        if (signal?.aborted) {
            reject(signal.reason);
            return;
        }
        signal?.addEventListener("abort", onAbort, { once: true });
        stream.on("data", onData);
        stream.on("end", onEnd);
        stream.on("error", onError);
    });
}
