import { parseStackConfig } from "../../infra/config";
import {
    alertWebhookProblems,
    observabilityDiskGiB,
    observabilityMemoryFor,
    observabilityReserveMiB,
    webhookUrlProblem,
    withheldSecret,
    isWithheldSecret,
} from "../../infra/config/observability";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { readStackFile, secretPlaceholder } from "../../tools/plan/stackFile";
import { configProblems, validHost } from "../helpers/config";

type Raw = Record<string, any>;

const valid = (): Raw => ({ host: validHost(), slots: { slot1: {}, slot2: {} } });
const fleet = (): Raw => ({
    host: validHost(),
    hosts: { main: {}, big: { instanceType: "m7g.metal", subnetCidr: "172.20.2.0/24" } },
    slots: { slot1: { host: "main" }, slot2: { host: "big" } },
});
const problems = (edit: (r: Raw) => void, base = valid): string[] => {
    const raw = base();
    edit(raw);
    return configProblems(raw);
};

describe("observability: the config key", () => {
    test("is off by default, with the documented defaults, and then costs no memory or disk", () => {
        const cfg = parseStackConfig(valid());
        expect(cfg.observability).toEqual({
            enabled: false,
            collector: "main",
            metricsRetentionDays: 15,
            metricsDiskGiB: 8,
            logRetentionDays: 14,
            logDiskGiB: 4,
            volumeFullPercent: 85,
        });
        expect(observabilityReserveMiB(cfg.observability, "main")).toBe(0);
        expect(observabilityDiskGiB(cfg.observability, "main")).toBe(0);
        expect(observabilityMemoryFor(cfg.observability, "main")).toEqual({});
    });

    test("on, the collector runs Prometheus, Alertmanager and Grafana besides what every host runs", () => {
        const cfg = parseStackConfig({ ...fleet(), observability: { enabled: true, collector: "big" } });
        expect(observabilityMemoryFor(cfg.observability, "big")).toEqual({
            prometheus: 1024,
            alertmanager: 128,
            grafana: 512,
            nodeExporter: 128,
            exporters: 128,
        });
        expect(observabilityMemoryFor(cfg.observability, "main")).toEqual({ nodeExporter: 128, exporters: 128 });
        expect(observabilityReserveMiB(cfg.observability, "big")).toBe(1920);
        expect(observabilityReserveMiB(cfg.observability, "main")).toBe(256);
        expect(observabilityDiskGiB(cfg.observability, "big")).toBe(12);
        expect(observabilityDiskGiB(cfg.observability, "main")).toBe(4);
    });

    test("the collector defaults to main, and strings from `pulumi config set --path` are accepted", () => {
        const cfg = parseStackConfig({ ...fleet(), observability: { enabled: "true", metricsRetentionDays: "30" } });
        expect(cfg.observability).toMatchObject({ enabled: true, collector: "main", metricsRetentionDays: 30 });
    });

    test.each<[string, (r: Raw) => void, string[]]>([
        [
            "an unknown key",
            (r) => {
                r.observability = { enable: true };
            },
            [
                "observability.enable: unknown key; valid keys of observability are enabled, collector, metricsRetentionDays, metricsDiskGiB, logRetentionDays, logDiskGiB, volumeFullPercent",
            ],
        ],
        [
            "not an object",
            (r) => {
                r.observability = true;
            },
            ["observability: must be an object, got true"],
        ],
        [
            "enabled not a boolean",
            (r) => {
                r.observability = { enabled: "yes" };
            },
            ['observability.enabled: must be true or false, got "yes"'],
        ],
        [
            "retention out of range",
            (r) => {
                r.observability = { enabled: true, metricsRetentionDays: 0, logRetentionDays: 4000 };
            },
            [
                "observability.metricsRetentionDays: must be an integer from 1 to 3650, got 0",
                "observability.logRetentionDays: must be an integer from 1 to 3650, got 4000",
            ],
        ],
        [
            "a threshold below half",
            (r) => {
                r.observability = { volumeFullPercent: 40 };
            },
            ["observability.volumeFullPercent: must be an integer from 50 to 99, got 40"],
        ],
        [
            "on without Tailscale (nothing could reach it but the internet)",
            (r) => {
                r.observability = { enabled: true };
                r.tailscale = { enabled: false };
            },
            [
                "observability.enabled: is true but tailscale.enabled is false: Grafana, Prometheus and Alertmanager are reachable only on the tailnet (never from the internet), so enable Tailscale or turn observability off",
            ],
        ],
        [
            "a collector that is not a host",
            (r) => {
                r.observability = { enabled: true, collector: "small" };
            },
            [
                'observability.collector: names host "small", which is not in hosts (main); the collector is the host that runs Prometheus, Alertmanager and Grafana',
            ],
        ],
        [
            "slots that fit only without observability",
            (r) => {
                r.slots = { slot1: { memMiB: 27648 } };
                r.observability = { enabled: true };
            },
            [
                "slots: the slots' memory adds up to 27648 MiB, but a1.metal has 32 GiB and leaves 26752 MiB for slots after the host's share and 1920 MiB for observability (observability.enabled); lower slots.<name>.memMiB or choose a larger host.instanceType (c6g.metal, c6gd.metal, m6g.metal)",
            ],
        ],
        [
            "a root volume too small for the journal and Prometheus' data",
            (r) => {
                r.host.rootVolumeGiB = 30;
                r.observability = { enabled: true };
            },
            [
                "host.rootVolumeGiB: 30 GiB cannot hold observability's 12 GiB (observability.logDiskGiB + observability.metricsDiskGiB) beside the 20 GiB NixOS keeps for itself; grow host.rootVolumeGiB to at least 32, or lower observability.logDiskGiB or observability.metricsDiskGiB",
            ],
        ],
    ])("%s", (_title, edit, expected) => {
        expect(problems(edit)).toEqual(expected);
    });

    test("off, the same slots and root volume fit: observability is counted only when on", () => {
        expect(
            problems((r) => {
                r.slots = { slot1: { memMiB: 27648 } };
                r.host.rootVolumeGiB = 30;
                r.observability = { enabled: false };
            }),
        ).toEqual([]);
    });

    test("in a fleet, only the collector counts Prometheus: its own host's key is named", () => {
        const found = problems((r) => {
            r.hosts.big.rootVolumeGiB = 28;
            r.hosts.main.rootVolumeGiB = 24;
            r.observability = { enabled: true, collector: "big" };
        }, fleet);
        expect(found).toEqual([
            "hosts.big.rootVolumeGiB: 28 GiB cannot hold observability's 12 GiB (observability.logDiskGiB + observability.metricsDiskGiB) beside the 20 GiB NixOS keeps for itself; grow hosts.big.rootVolumeGiB to at least 32, or lower observability.logDiskGiB or observability.metricsDiskGiB",
        ]);
    });

    test("in a fleet, a slot host's memory check counts only what that host runs", () => {
        const found = problems((r) => {
            r.slots = { slot1: { host: "main", memMiB: 28672 - 100 }, slot2: { host: "big" } };
            r.observability = { enabled: true, collector: "big" };
        }, fleet);
        expect(found).toEqual([
            "hosts.main: the slots' (on main) memory adds up to 28572 MiB, but a1.metal has 32 GiB and leaves 28416 MiB for slots after the host's share and 256 MiB for observability (observability.enabled); lower slots.<name>.memMiB or choose a larger hosts.main.instanceType (c6g.metal, c6gd.metal, m6g.metal)",
        ]);
    });
});

describe("alertWebhookUrl: a secret, and a URL", () => {
    const key = "microvm-infra:alertWebhookUrl";
    const secret = () => true;
    const secretUrl = "https://hooks.example.com/services/T000/B000/XXXXsecretXXXX";

    test.each([
        "https://hooks.example.com/services/T000/B000/XXXX",
        "http://10.1.0.2:8080/alert",
        "https://user:p4ss@alerts.example.org/hook?token=abc&team=ops#x",
        "https://ntfy.sh/microvm-alerts",
    ])("%s is accepted", (url) => {
        expect(webhookUrlProblem(url)).toBeUndefined();
    });

    test.each([
        ["no scheme", "hooks.example.com/x"],
        ["another scheme", "ftp://hooks.example.com/x"],
        ["no host", "https:///x"],
        ["a space", "https://hooks.example.com/a b"],
        ["a quote", "https://hooks.example.com/a'b"],
        ["a dollar (the environment file is substituted)", "https://hooks.example.com/$HOME"],
        ["a backslash", "https://hooks.example.com/a\\b"],
        ["two lines", "https://hooks.example.com/a\nhttps://evil.example/"],
    ])("refused: %s, without echoing the value", (_why, url) => {
        const found = alertWebhookProblems([key], secret, key, url);
        expect(found).toEqual([
            "alertWebhookUrl: must be an http:// or https:// URL with a host name, and no spaces, quotes, backslashes or '$' (the value is a secret and is not shown); set it again with `pulumi config set --secret alertWebhookUrl https://...`",
        ]);
        expect(found.join("\n")).not.toContain(url.slice(8));
    });

    test("in clear text it is refused, naming the fix and not the value", () => {
        const found = alertWebhookProblems([key], () => false, key, secretUrl);
        expect(found).toEqual([
            "alertWebhookUrl: is stored in clear text in the stack file; remove it (pulumi config rm alertWebhookUrl) and set it again with `pulumi config set --secret alertWebhookUrl https://...`",
        ]);
        expect(found.join("\n")).not.toContain("secretXXXX");
    });

    test("absent, or withheld by the offline plan (which never decrypts secrets), it raises nothing", () => {
        expect(alertWebhookProblems([], secret, key, undefined)).toEqual([]);
        expect(alertWebhookProblems([key], secret, key, withheldSecret)).toEqual([]);
        expect(alertWebhookProblems([key], secret, key, secretUrl)).toEqual([]);
    });

    test("the withheld value is the plan tool's own placeholder, for a nested secret and a whole key's", () => {
        expect(withheldSecret).toBe(secretPlaceholder);
        const file = join(mkdtempSync(join(tmpdir(), "webhook-")), "Pulumi.x.yaml");
        writeFileSync(file, "config:\n  microvm-infra:alertWebhookUrl:\n    secure: v1:AAAA:BBBB\n");
        const held = readStackFile(file, "microvm-infra").config[key];
        expect(isWithheldSecret(held)).toBe(true);
        expect(alertWebhookProblems([key], secret, key, held)).toEqual([]);
    });
});
