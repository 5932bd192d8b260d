/** Times in names and records: UTC, to the second. */

const pad = (n: number): string => String(n).padStart(2, "0");

/** `YYYYmmdd<sep>HHMMSS` in UTC: `-` for snapshot names (`pre-assign-20240101-120000`), `` for datasets. */
export function utcStamp(date: Date, sep: string): string {
    return (
        `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
        `${sep}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`
    );
}

/** ISO 8601 to the second, as jq's `todate` wrote it: `2024-01-01T12:00:00Z`. */
export function isoSeconds(epochSeconds: number): string {
    return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
