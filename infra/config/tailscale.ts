/** `tailscale`: joining the tailnet as the slots' subnet router. */
import { tagProblem } from "../../components/tailscale/tags";
import { dnsLabelProblem } from "../../lib/names";
import { Problems, readBool, readObject, readString, readStringList } from "./reader";

export interface TailscaleConfig {
    readonly enabled: boolean;
    readonly hostname: string;
    readonly tags: readonly string[];
    /** Manage the tailnet policy (autoApprovers, per-slot grants). Replaces the whole policy. */
    readonly managePolicy: boolean;
}

export const tailscaleDefaults = { hostname: "microvm-host", tags: ["tag:microvm-host"] } as const;

export function parseTailscale(p: Problems, raw: unknown): TailscaleConfig {
    const o = readObject(p, "tailscale", raw, ["enabled", "hostname", "tags", "managePolicy"]);
    const enabled = readBool(p, o, "tailscale", "enabled", true);
    const hostname = readString(p, o, "tailscale", "hostname", tailscaleDefaults.hostname);
    const badHostname = dnsLabelProblem(hostname);
    if (badHostname) {
        p.add("tailscale.hostname", badHostname);
    }
    const tags = o.tags === undefined ? [...tailscaleDefaults.tags] : readStringList(p, o, "tailscale", "tags");
    tags.forEach((tag, i) => {
        const problem = tagProblem(tag);
        if (problem) {
            p.add(`tailscale.tags[${i}]`, problem);
        }
    });
    if (enabled && tags.length === 0) {
        p.add(
            "tailscale.tags",
            "needs at least one tag: the host's auth key is tagged so the host is owned by the tailnet, not a person",
        );
    }
    return { enabled, hostname, tags, managePolicy: readBool(p, o, "tailscale", "managePolicy", false) };
}
