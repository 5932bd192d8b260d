import { spawnSync } from "child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
    HostTailnetStatus,
    joinWaitProblem,
    joinWaitScript,
    nameCollision,
    parseTailscaleStatus,
    TailnetStatusError,
} from "../../components/tailscale/status";

/** Shaped like `tailscale status --json --peers=false` on a tagged subnet router (values made up). */
function statusJson(overrides: { BackendState?: string; Self?: Record<string, unknown> | null } = {}): string {
    const self = {
        ID: "nAbCdEf1CNTRL",
        PublicKey: "nodekey:0000",
        HostName: "microvm-host",
        DNSName: "microvm-host.example.ts.net.",
        OS: "linux",
        TailscaleIPs: ["100.64.0.7", "fd7a:115c:a1e0::7"],
        Tags: ["tag:microvm-host"],
        Online: true,
    };
    return JSON.stringify(
        {
            Version: "1.80.0",
            BackendState: overrides.BackendState ?? "Running",
            Self: overrides.Self === null ? undefined : { ...self, ...overrides.Self },
            Peer: null,
            MagicDNSSuffix: "example.ts.net",
        },
        null,
        2,
    );
}

describe("parseTailscaleStatus", () => {
    test("reads the node id, names, addresses and tags of a running host", () => {
        expect(parseTailscaleStatus(statusJson())).toEqual({
            nodeId: "nAbCdEf1CNTRL",
            hostName: "microvm-host",
            dnsName: "microvm-host.example.ts.net",
            tailscaleIps: ["100.64.0.7", "fd7a:115c:a1e0::7"],
            tags: ["tag:microvm-host"],
        });
    });

    test.each([
        ["not JSON", "tailscale: command not found", /not JSON/],
        ["an array", "[]", /expected a JSON object/],
        [
            "logged out",
            statusJson({ BackendState: "NeedsLogin" }),
            /BackendState is "NeedsLogin", not "Running": the host has not joined/,
        ],
        ["waiting for approval", statusJson({ BackendState: "NeedsMachineAuth" }), /"NeedsMachineAuth"/],
        ["no Self", statusJson({ Self: null }), /Self\.ID is null/],
        ["an empty node id", statusJson({ Self: { ID: "" } }), /Self\.ID is "", not a node id/],
        ["no DNS name yet", statusJson({ Self: { DNSName: "" } }), /Self\.DNSName is empty/],
    ])("refuses %s with a reason", (_what, stdout, message) => {
        expect(() => parseTailscaleStatus(stdout)).toThrow(TailnetStatusError);
        expect(() => parseTailscaleStatus(stdout)).toThrow(message);
    });
});

describe("nameCollision", () => {
    const status = (dnsName: string): HostTailnetStatus => ({
        nodeId: "nNew1CNTRL",
        hostName: "microvm-host",
        dnsName,
        tailscaleIps: [],
        tags: [],
    });

    test("the name the host asked for: no problem", () => {
        expect(nameCollision("microvm-host", status("microvm-host.example.ts.net"))).toBeUndefined();
    });

    test("a suffixed name says which node holds the routes and what to do", () => {
        const msg = nameCollision("microvm-host", status("microvm-host-1.example.ts.net"));
        expect(msg).toContain("is named microvm-host-1.example.ts.net, not microvm-host");
        expect(msg).toContain("Routes are approved on node nNew1CNTRL");
        expect(msg).toContain("Remove that device in the admin console");
        expect(msg).toContain("Hostname collisions");
    });

    test("a longer name that merely starts with the hostname is a collision too", () => {
        expect(nameCollision("microvm", status("microvm-host.example.ts.net"))).toBeDefined();
    });
});

describe("joinWaitProblem", () => {
    test.each([
        [{ timeoutSeconds: 300, pollSeconds: 5 }, undefined],
        [{ timeoutSeconds: 1, pollSeconds: 1 }, undefined],
        [
            { timeoutSeconds: 300, pollSeconds: 0 },
            "joinWait.pollSeconds must be a whole number of seconds from 1 to 60, got 0",
        ],
        [
            { timeoutSeconds: 300, pollSeconds: 1.5 },
            "joinWait.pollSeconds must be a whole number of seconds from 1 to 60, got 1.5",
        ],
        [
            { timeoutSeconds: 4, pollSeconds: 5 },
            "joinWait.timeoutSeconds must be a whole number of seconds from joinWait.pollSeconds (5) to 3600, got 4",
        ],
        [
            { timeoutSeconds: 7200, pollSeconds: 5 },
            "joinWait.timeoutSeconds must be a whole number of seconds from joinWait.pollSeconds (5) to 3600, got 7200",
        ],
    ])("%j -> %s", (wait, expected) => {
        expect(joinWaitProblem(wait)).toBe(expected);
    });

    test("the script refuses an invalid wait", () => {
        expect(() => joinWaitScript("microvm-host", { timeoutSeconds: 0, pollSeconds: 0 })).toThrow(RangeError);
    });
});

/**
 * Runs the wait script with a fake `tailscale` first on PATH that answers "NeedsLogin" until it
 * has been asked `joinAfter` times, then "Running".
 */
function runWaitScript(
    joinAfter: number,
    timeoutSeconds: number,
): { code: number | null; stdout: string; stderr: string; asked: number } {
    const dir = mkdtempSync(join(tmpdir(), "ts-wait-"));
    const counter = join(dir, "count");
    writeFileSync(counter, "0");
    const running = statusJson().replace(/'/g, "'\\''");
    // Waiting: what a node that needs a login reports, with a login URL and (as if --peers=false were
    // ignored) another machine of the tailnet; a plain `tailscale status` lists that machine too.
    const waiting = JSON.stringify({
        ...JSON.parse(
            statusJson({ BackendState: "NeedsLogin", Self: { ID: "", DNSName: "", Online: false, TailscaleIPs: [] } }),
        ),
        AuthURL: "https://login.example.com/a/claim-me",
        Health: ["not logged in, last login error=invalid key: unable to validate API key"],
        Peer: {
            "nodekey:1111": {
                HostName: "alices-laptop",
                DNSName: "alices-laptop.example.ts.net.",
                TailscaleIPs: ["100.64.0.9"],
            },
        },
    }).replace(/'/g, "'\\''");
    writeFileSync(
        join(dir, "tailscale"),
        [
            "#!/bin/sh",
            `n=$(cat '${counter}'); n=$((n + 1)); echo "$n" > '${counter}'`,
            `if [ "$1" = status ] && [ "$2" = --json ]; then`,
            `  if [ "$n" -gt ${joinAfter} ]; then printf '%s\\n' '${running}'; else printf '%s\\n' '${waiting}'; fi`,
            "else echo '100.64.0.9  alices-laptop  alice@  macOS  -'; fi",
            "",
        ].join("\n"),
    );
    chmodSync(join(dir, "tailscale"), 0o755);
    const script = joinWaitScript("microvm-host", { timeoutSeconds, pollSeconds: 1 });
    const result = spawnSync("sh", ["-c", script], {
        env: { PATH: `${dir}:/usr/bin:/bin` },
        encoding: "utf8",
        timeout: 30000,
    });
    const asked = Number(spawnSync("cat", [counter], { encoding: "utf8" }).stdout.trim());
    return { code: result.status, stdout: result.stdout, stderr: result.stderr, asked };
}

describe("joinWaitScript on a host (fake tailscale CLI)", () => {
    test("waits until the host has joined, then prints the status the parser reads", () => {
        const run = runWaitScript(2, 20);
        expect(run.code).toBe(0);
        expect(run.asked).toBe(3);
        expect(parseTailscaleStatus(run.stdout).nodeId).toBe("nAbCdEf1CNTRL");
    });

    test("gives up after the timeout with the host's own state and where to look: no other machine, no login URL", () => {
        const run = runWaitScript(1000, 2);
        expect(run.code).toBe(1);
        expect(run.stdout).toBe("");
        expect(run.stderr).toContain(
            "the host did not join the tailnet as microvm-host within 2s. Its own state:\n" +
                "  backend state: NeedsLogin\n" +
                "  health: not logged in, last login error=invalid key: unable to validate API key\n" +
                "  this host: microvm-host, online: false, addresses: none\n",
        );
        expect(run.stderr).toContain("journalctl -u tailscaled -u tailscaled-autoconnect");
        expect(run.stderr).not.toMatch(/alices-laptop|100\.64\.0\.9|claim-me|login\.example/);
        expect(run.asked).toBeGreaterThanOrEqual(2);
    });
});
