/**
 * CIDR parsing and the one wording for CIDR problems, for IPv4 and IPv6 alike. Pure (a bad value
 * is quoted through lib/redact.ts); the stack config, the AWS components and the Tailscale router
 * all use it.
 */
import { shown } from "./redact";

export type Family = 4 | 6;

export interface Cidr {
    readonly family: Family;
    /** The address as an unsigned integer (32 or 128 bits). */
    readonly address: bigint;
    readonly prefix: number;
}

export interface Ipv4Cidr {
    readonly base: number; // network address as an unsigned 32-bit integer
    readonly prefix: number;
}

const bits = (family: Family): number => (family === 4 ? 32 : 128);

function parseIpv4(text: string): bigint | undefined {
    const parts = text.split(".");
    if (parts.length !== 4 || parts.some((x) => !/^(0|[1-9]\d{0,2})$/.test(x) || Number(x) > 255)) {
        return undefined;
    }
    return parts.reduce((acc, x) => acc * 256n + BigInt(x), 0n);
}

function parseIpv6(text: string): bigint | undefined {
    if (!/^[0-9a-fA-F:]+$/.test(text) || !text.includes(":")) {
        return undefined;
    }
    const halves = text.split("::");
    if (halves.length > 2) {
        return undefined;
    }
    const groups = halves.map((h) => (h === "" ? [] : h.split(":")));
    if (groups.flat().some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) {
        return undefined;
    }
    const count = groups.flat().length;
    if (halves.length === 2 ? count > 7 : count !== 8) {
        return undefined;
    }
    const full = halves.length === 2 ? [...groups[0], ...Array(8 - count).fill("0"), ...groups[1]] : groups[0];
    return full.reduce((acc, g) => acc * 65536n + BigInt(parseInt(g, 16)), 0n);
}

/** Parses `address/prefix`, IPv4 or IPv6, host bits allowed (see `hostBitsSet`). */
export function parseCidr(text: string): Cidr | undefined {
    const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
    if (!m || (m[2].length > 1 && m[2].startsWith("0"))) {
        return undefined;
    }
    const prefix = Number(m[2]);
    const v4 = parseIpv4(m[1]);
    if (v4 !== undefined) {
        return prefix <= 32 ? { family: 4, address: v4, prefix } : undefined;
    }
    const v6 = parseIpv6(m[1]);
    return v6 !== undefined && prefix <= 128 ? { family: 6, address: v6, prefix } : undefined;
}

function hostMask(c: Cidr): bigint {
    return (1n << BigInt(bits(c.family) - c.prefix)) - 1n;
}

export function hostBitsSet(c: Cidr): boolean {
    return (c.address & hostMask(c)) !== 0n;
}

function formatAddress(family: Family, address: bigint): string {
    if (family === 4) {
        return [24n, 16n, 8n, 0n].map((s) => String((address >> s) & 255n)).join(".");
    }
    const groups = Array.from({ length: 8 }, (_, i) => ((address >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
    // The longest run of zero groups becomes "::" (RFC 5952).
    let best = { at: -1, len: 1 };
    for (let i = 0; i < 8;) {
        let j = i;
        while (j < 8 && groups[j] === "0") {
            j++;
        }
        if (j - i > best.len) {
            best = { at: i, len: j - i };
        }
        i = j === i ? i + 1 : j;
    }
    if (best.at < 0) {
        return groups.join(":");
    }
    return `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.len).join(":")}`;
}

/** The network the CIDR lies in, as text: `203.0.113.7/24` -> `203.0.113.0/24`. */
export function networkOf(c: Cidr): string {
    return `${formatAddress(c.family, c.address & ~hostMask(c))}/${c.prefix}`;
}

export const cidrExample = "203.0.113.7/32";

/**
 * Why `text` is not a network CIDR of the wanted family, or undefined: the one wording every
 * layer uses. Host bits are named as the problem, with the network that was probably meant.
 */
export function cidrProblem(text: string, family?: Family): string | undefined {
    const c = parseCidr(text);
    const kind = family === 4 ? "an IPv4" : family === 6 ? "an IPv6" : "an IPv4 or IPv6";
    if (!c || (family !== undefined && c.family !== family)) {
        return `must be ${kind} CIDR such as ${family === 6 ? "2001:db8::/32" : cidrExample}, got ${shown(text)}`;
    }
    if (hostBitsSet(c)) {
        const single = `${formatAddress(c.family, c.address)}/${bits(c.family)}`;
        return `${shown(text)} has host bits set: the network is ${networkOf(c)} (or write ${single} for that one address)`;
    }
    return undefined;
}

/**
 * The one spelling of a network CIDR (lowercase, IPv6 compressed as RFC 5952 says), or undefined
 * when `text` is not a network CIDR: `2001:DB8:0::/32` and `2001:db8::/32` are one network, and
 * every rule and resource name is made from this spelling.
 */
export function canonicalCidr(text: string): string | undefined {
    const c = parseCidr(text);
    return c === undefined || hostBitsSet(c) ? undefined : networkOf(c);
}

/** Parses an IPv4 network CIDR (no host bits), or undefined. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
    const c = parseCidr(text);
    if (!c || c.family !== 4 || hostBitsSet(c)) {
        return undefined;
    }
    return { base: Number(c.address), prefix: c.prefix };
}

/** True for a valid IPv4 or IPv6 network CIDR. */
export function isCidr(text: string): boolean {
    return cidrProblem(text) === undefined;
}

export function isIpv4(text: string): boolean {
    return parseCidr(text)?.family === 4;
}

export function ipv4CidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
    const aEnd = a.base + 2 ** (32 - a.prefix);
    const bEnd = b.base + 2 ** (32 - b.prefix);
    return a.base < bEnd && b.base < aEnd;
}

/** True when `inner` lies entirely inside `outer`. */
export function ipv4CidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
    return inner.prefix >= outer.prefix && ipv4CidrsOverlap(outer, inner);
}

/** CIDRs that open a port to the whole internet (any prefix 0 network). */
export function isWorldCidr(text: string): boolean {
    const c = parseCidr(text);
    return c !== undefined && c.prefix === 0;
}
