/**
 * The one retention rule, for safety snapshots (keep the newest N, none older than D days) and for
 * replicas (as sanoid counts: the newest of each of the last N hours, days, ISO weeks and months
 * that have one). Whatever the policy, the newest item is always kept. Pure: the caller destroys
 * what it returns in `drop`, skipping what something still depends on.
 */

export interface Dated {
    readonly name: string;
    /** Seconds since the epoch. */
    readonly created: number;
}

export interface RetentionPolicy {
    /** Keep the newest N... */
    readonly newest?: number;
    /** ...of those only the ones at most this old (seconds); alone: every one this young. */
    readonly maxAgeSeconds?: number;
    /** The newest of each of the last N hours / days / ISO weeks / months that have one (UTC). */
    readonly hourly?: number;
    readonly daily?: number;
    readonly weekly?: number;
    readonly monthly?: number;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** ISO 8601 week-numbering year and week of a UTC date (`%G%V`). */
export function isoWeek(d: Date): string {
    const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
    thursday.setUTCDate(thursday.getUTCDate() + 4 - (thursday.getUTCDay() || 7));
    const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
    const week = Math.ceil(((thursday.getTime() - yearStart) / 86400000 + 1) / 7);
    return `${thursday.getUTCFullYear()}${pad(week)}`;
}

const periods = {
    hourly: (d: Date) =>
        `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}`,
    daily: (d: Date) => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`,
    weekly: isoWeek,
    monthly: (d: Date) => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}`,
} as const;

/**
 * Splits ITEMS (oldest first; ties keep their order) into those the policy keeps and those it
 * drops, both oldest first. `now` is in seconds.
 */
export function retain<T extends Dated>(
    items: readonly T[],
    policy: RetentionPolicy,
    now: number,
): { keep: T[]; drop: T[] } {
    if (items.length === 0) {
        return { keep: [], drop: [] };
    }
    const newestFirst = items
        .map((item, i) => ({ item, i }))
        .sort((a, b) => b.item.created - a.item.created || b.i - a.i);
    const kept = new Set<number>([newestFirst[0].i]);
    if (policy.newest !== undefined || policy.maxAgeSeconds !== undefined) {
        newestFirst.forEach(({ item, i }, rank) => {
            const fresh = policy.maxAgeSeconds === undefined || item.created >= now - policy.maxAgeSeconds;
            if ((policy.newest === undefined || rank < policy.newest) && fresh) {
                kept.add(i);
            }
        });
    }
    for (const [kind, key] of Object.entries(periods) as [keyof typeof periods, (d: Date) => string][]) {
        const count = policy[kind] ?? 0;
        const seen = new Set<string>();
        for (const { item, i } of newestFirst) {
            if (seen.size >= count) {
                break;
            }
            const k = key(new Date(item.created * 1000));
            if (!seen.has(k)) {
                seen.add(k);
                kept.add(i);
            }
        }
    }
    return { keep: items.filter((_, i) => kept.has(i)), drop: items.filter((_, i) => !kept.has(i)) };
}
