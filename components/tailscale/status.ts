/**
 * What the host itself says about its place in the tailnet, from `tailscale status --json`.
 * Pure functions: the script that waits for the host to join, the parser of its output, and the
 * check that the host got the name it asked for. The node id the host reports is the device
 * whose routes are approved; nothing looks the device up by name.
 */
import { join } from "path";
import { scriptCommand } from "../deploy/script";
import { shown } from "../../lib/redact";

/** The fields of `tailscale status --json` (ipnstate.Status) that the stack uses. */
export interface HostTailnetStatus {
    /** The stable node id (`Self.ID`, e.g. `nAbCdEf1CNTRL`): the API's device id. */
    readonly nodeId: string;
    /** The OS hostname the node reported (`Self.HostName`); not unique in a tailnet. */
    readonly hostName: string;
    /** The MagicDNS name (`Self.DNSName`) without the trailing dot: `microvm-host-1.example.ts.net`. */
    readonly dnsName: string;
    /** The node's tailnet addresses (`Self.TailscaleIPs`). */
    readonly tailscaleIps: readonly string[];
    /** The tags the control plane applied (`Self.Tags`). */
    readonly tags: readonly string[];
}

export class TailnetStatusError extends Error {}

/** Bounds of the wait for the first join. Internal; exported for testing. */
export interface JoinWait {
    /** How long to wait for `BackendState` "Running", in seconds. */
    readonly timeoutSeconds: number;
    /** Pause between two looks, in seconds. */
    readonly pollSeconds: number;
}

export const defaultJoinWait: JoinWait = { timeoutSeconds: 300, pollSeconds: 5 };

/** Why a join wait is invalid, naming the argument, or undefined when it is valid. */
export function joinWaitProblem(wait: JoinWait): string | undefined {
    if (!Number.isInteger(wait.pollSeconds) || wait.pollSeconds < 1 || wait.pollSeconds > 60) {
        return `joinWait.pollSeconds must be a whole number of seconds from 1 to 60, got ${shown(wait.pollSeconds)}`;
    }
    if (
        !Number.isInteger(wait.timeoutSeconds) ||
        wait.timeoutSeconds < wait.pollSeconds ||
        wait.timeoutSeconds > 3600
    ) {
        return `joinWait.timeoutSeconds must be a whole number of seconds from joinWait.pollSeconds (${shown(wait.pollSeconds)}) to 3600, got ${shown(wait.timeoutSeconds)}`;
    }
    return undefined;
}

/**
 * The command run on the host over SSH (`remote/join-wait.sh`): polls `tailscale status --json
 * --peers=false` until the backend is "Running", prints that JSON and exits 0; after
 * `timeoutSeconds` it prints why to stderr and exits 1.
 */
export function joinWaitScript(hostname: string, wait: JoinWait = defaultJoinWait): string {
    const problem = joinWaitProblem(wait);
    if (problem) {
        throw new RangeError(problem);
    }
    return scriptCommand(join(__dirname, "remote/join-wait.sh"), [
        hostname,
        String(wait.timeoutSeconds),
        String(wait.pollSeconds),
    ]);
}

function stringList(value: unknown): string[] {
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/**
 * Parses the output of `tailscale status --json`. Throws a TailnetStatusError that says what is
 * missing when the host is not (yet) a running member of a tailnet.
 */
export function parseTailscaleStatus(stdout: string): HostTailnetStatus {
    // tailscale's JSON, checked field by field below
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let doc: any;
    try {
        doc = JSON.parse(stdout);
    } catch {
        throw new TailnetStatusError(`tailscale status --json: the output is not JSON (it is ${shown(stdout)})`);
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
        throw new TailnetStatusError("tailscale status --json: expected a JSON object");
    }
    if (doc.BackendState !== "Running") {
        throw new TailnetStatusError(
            `tailscale status --json: BackendState is ${shown(doc.BackendState ?? null)}, not "Running": the host has not joined the tailnet`,
        );
    }
    const self = doc.Self;
    const nodeId = self?.ID;
    if (typeof nodeId !== "string" || !/^[A-Za-z0-9]+$/.test(nodeId)) {
        throw new TailnetStatusError(
            `tailscale status --json: Self.ID is ${shown(nodeId ?? null)}, not a node id such as nAbCdEf1CNTRL`,
        );
    }
    const dnsName = typeof self.DNSName === "string" ? self.DNSName.replace(/\.$/, "") : "";
    if (dnsName === "") {
        throw new TailnetStatusError(
            "tailscale status --json: Self.DNSName is empty: the node has no tailnet name yet",
        );
    }
    return {
        nodeId,
        hostName: typeof self.HostName === "string" ? self.HostName : "",
        dnsName,
        tailscaleIps: stringList(self.TailscaleIPs),
        tags: stringList(self.Tags),
    };
}

/**
 * Why the host's tailnet name is not the one it asked for, or undefined when it is. Tailscale
 * appends `-1`, `-2`... when another device (typically the machine this host replaced) already
 * holds the name; routes are still approved on the right device (by node id), but the name
 * `hostname` reaches the other machine. `dnsName` is the device's current name, as the API
 * reports it now (a renamed device stops the warning).
 */
export function nameCollision(
    hostname: string,
    device: { readonly nodeId: string; readonly dnsName: string },
): string | undefined {
    const label = device.dnsName.replace(/\.$/, "").split(".")[0];
    if (label === hostname) {
        return undefined;
    }
    return (
        `tailscale: the host (node ${device.nodeId}) is named ${device.dnsName}, not ${hostname}: another device in the tailnet ` +
        `already holds the name ${hostname}, most likely the machine this host replaced. Routes are approved on node ${device.nodeId} ` +
        `(the host itself), but ${hostname} still names the other device. Remove that device in the admin console (Machines), then ` +
        `rename this one to ${hostname} (Machines > ${label} > Edit machine name); see docs/tailscale.md, "Hostname collisions".`
    );
}
