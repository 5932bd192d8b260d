/** Small, dependency-free CIDR helpers used by config validation. */

export interface Ipv4Cidr {
    readonly base: number; // network address as an unsigned 32-bit integer
    readonly prefix: number;
}

function parseIpv4(address: string): number | undefined {
    const parts = address.split(".");
    if (parts.length !== 4 || parts.some((x) => !/^(0|[1-9]\d{0,2})$/.test(x) || Number(x) > 255)) {
        return undefined;
    }
    return parts.reduce((acc, x) => acc * 256 + Number(x), 0);
}

/** Parses `a.b.c.d/n` whose address is the network address (no host bits set). */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
    const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
    if (!m) {
        return undefined;
    }
    const address = parseIpv4(m[1]);
    const prefix = Number(m[2]);
    if (address === undefined || prefix > 32) {
        return undefined;
    }
    const size = 2 ** (32 - prefix);
    return address % size === 0 ? { base: address, prefix } : undefined;
}

function isIpv6Cidr(text: string): boolean {
    const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text);
    if (!m || Number(m[2]) > 128 || !m[1].includes(":")) {
        return false;
    }
    const halves = m[1].split("::");
    if (halves.length > 2) {
        return false;
    }
    const groups = halves.flatMap((h) => (h === "" ? [] : h.split(":")));
    if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) {
        return false;
    }
    return halves.length === 2 ? groups.length < 8 : groups.length === 8;
}

/** True for a valid IPv4 or IPv6 CIDR. */
export function isCidr(text: string): boolean {
    return parseIpv4Cidr(text) !== undefined || isIpv6Cidr(text);
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

/** CIDRs that open a port to the whole internet. */
export function isWorldCidr(text: string): boolean {
    return text === "0.0.0.0/0" || /^::\/0$/.test(text);
}
