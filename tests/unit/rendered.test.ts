/**
 * Every config the plan accepts renders deployment data the host's own checks accept: each host's
 * nixos/infra.json of the example, of every fixture stack and of generated variants goes through
 * nixos/lib/validate.nix, the real nginx -t (egress proxy) and nft -c (ruleset), by
 * tests/helpers/check-host-config.sh. Otherwise `pulumi up` would create AWS resources and then
 * fail on the host.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import fc from "fast-check";
import { ConfigError } from "../../infra/config";
import { Plan, planStack } from "../../tools/plan/run";
import { exampleStack, exampleStackFile, planDoc, repoRoot } from "../helpers/stacks";
import { requireTools } from "../helpers/tools";

const gate = requireTools(
    ["nix-instantiate", "jq", "nginx", "nft", "unshare"],
    "apt-get install nix-bin jq nginx nftables util-linux (.ci/run)",
);
const rootOnly = process.getuid?.() === 0 || process.env.CI === "true" ? gate.test : test.skip;

const out = mkdtempSync(join(tmpdir(), "microvm-rendered-"));
let written = 0;

/** Writes each host's rendered infra.json of `plan` to the output directory; returns the files. */
function renderedFiles(plan: Plan, label: string): string[] {
    return Object.entries(plan.hostFiles).map(([host, files]) => {
        const file = join(out, `${String(written++).padStart(3, "0")}-${label}-${host}.json`);
        writeFileSync(file, files["nixos/infra.json"]);
        return file;
    });
}

/** The host's checks on `files`: the failures, one line each ("" when all pass). */
function hostChecks(files: readonly string[]): string {
    const r = spawnSync(join(repoRoot, "tests/helpers/check-host-config.sh"), files, {
        encoding: "utf8",
        timeout: 600000,
    });
    return `${r.stdout}${r.status === 0 ? "" : r.stderr}`.trim() || (r.status === 0 ? "" : `exit ${r.status}`);
}

const fixtureStacks = readdirSync(join(repoRoot, "tests/fixtures/stacks"))
    .filter((f) => f.endsWith(".yaml"))
    .sort();

describe("the host's checks refuse what the host would (planted faults)", () => {
    rootOnly(
        "a file each check refuses is reported, naming the file and the check; a good one is not",
        () => {
            const fixture = (name: string) =>
                JSON.parse(readFileSync(join(repoRoot, "tests/fixtures/infra", name), "utf8"));
            const write = (name: string, data: unknown) => {
                const file = join(out, `planted-${name}.json`);
                writeFileSync(file, JSON.stringify(data));
                return file;
            };
            const good = write("good", fixture("five-slots.json"));
            const badSlot = fixture("five-slots.json");
            badSlot.slots[0].name = "Slot 1";
            const badObservability = fixture("observability-big.json");
            badObservability.observability.role = "boss";
            const badFleet = fixture("fleet-main.json");
            badFleet.fleet.self = "nobody";
            const lines = hostChecks([
                good,
                write("validate", badSlot),
                write("observability", badObservability),
                write("fleet", badFleet),
            ]).split("\n");
            expect(lines).toEqual([
                expect.stringMatching(
                    /planted-validate\.json: validate\.nix: (error: )?infra\.json: slots\[0\]\.name: "Slot 1" is not valid/,
                ),
                expect.stringMatching(
                    /planted-observability\.json: observability\.nix: (error: )?infra\.json: observability\.role: "boss" is not valid/,
                ),
                expect.stringMatching(
                    /planted-fleet\.json: validate\.nix: (error: )?infra\.json: fleet\.self: "nobody" is not valid/,
                ),
            ]);
        },
        600000,
    );
});

describe("rendered deployment data passes the host's own checks", () => {
    rootOnly(
        "the example and every fixture stack, each host of a fleet",
        async () => {
            const files = renderedFiles(await planStack(exampleStackFile, "dev"), "example");
            for (const f of fixtureStacks) {
                files.push(
                    ...renderedFiles(
                        await planStack(join(repoRoot, "tests/fixtures/stacks", f), "dev"),
                        f.replace(/\.yaml$/, ""),
                    ),
                );
            }
            expect(files.length).toBeGreaterThan(fixtureStacks.length + 1); // the fleet fixture renders two hosts
            expect(hostChecks(files)).toBe("");
        },
        600000,
    );

    rootOnly(
        "a fleet host that runs no slot: a replica target",
        async () => {
            const doc = exampleStack();
            const cfg = doc.config;
            cfg["microvm-infra:hosts"] = { main: {}, replica: { subnetCidr: "172.20.2.0/24" } };
            cfg["microvm-infra:slots"] = { slot1: { host: "main" }, slot2: { host: "main" } };
            cfg["microvm-infra:states"] = {
                slot1: { replicate: { to: "replica", every: "15m", keep: { hourly: 24, daily: 7 } } },
            };
            const plan = await planDoc(doc);
            expect(JSON.parse(plan.hostFiles.replica["nixos/infra.json"]).slots).toEqual([]);
            expect(hostChecks(renderedFiles(plan, "replica-target"))).toBe("");
        },
        600000,
    );

    // Host names are free: the offline plan must give each host its own host key whatever they are
    // (edge and x1, or c and the fleet's transfer key, once shared a placeholder).
    const fleetOf = (hosts: readonly string[]) => {
        const doc = exampleStack();
        const cfg = doc.config;
        cfg["microvm-infra:hosts"] = Object.fromEntries(
            hosts.map((h, i) => [h, i === 0 ? {} : { subnetCidr: `172.20.${i + 1}.0/24` }]),
        );
        cfg["microvm-infra:slots"] = Object.fromEntries(hosts.map((h, i) => [`slot${i + 1}`, { host: h }]));
        delete cfg["microvm-infra:states"];
        return doc;
    };
    rootOnly(
        "fleets: every host has its own host key, so the fleet's own check passes",
        async () => {
            const files: string[] = [];
            const hostName = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/).filter((n) => n !== "main" && n !== "states");
            const fleets = [
                ["main", "edge", "x1", "c"],
                ...fc
                    .sample(fc.uniqueArray(hostName, { minLength: 2, maxLength: 4 }), { numRuns: 3, seed: 18 })
                    .map((h) => ["main", ...h]),
            ];
            for (const [i, hosts] of fleets.entries()) {
                const plan = await planDoc(fleetOf(hosts));
                const keys = JSON.parse(plan.hostFiles.main["nixos/infra.json"]).fleet.hosts.map(
                    (h: { hostKey: string }) => h.hostKey,
                );
                expect(new Set(keys).size).toBe(hosts.length);
                files.push(...renderedFiles(plan, `fleet${i}`));
            }
            expect(hostChecks(files)).toBe("");
        },
        600000,
    );

    rootOnly(
        "edges: an allowlist past 4 KiB, a valid admin user other than the default",
        async () => {
            const doc = exampleStack();
            // 30 names of 200 characters: nginx refuses a configuration token or line past 4 KiB.
            const long = Array.from(
                { length: 30 },
                (_, i) => `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(60)}.d${i}.example`,
            );
            doc.config["microvm-infra:slots"] = {
                slot1: { egress: { allow: long } },
                slot2: { egress: { allow: long.map((d) => `*.${d}`) } },
            };
            delete doc.config["microvm-infra:states"];
            doc.config["microvm-infra:host"].adminUser = "svc-admin";
            expect(hostChecks(renderedFiles(await planDoc(doc), "edges"))).toBe("");
        },
        600000,
    );

    // A valid name of 1..max characters, from the shared rule (lowercase, digits, '-').
    const label = (max: number) => fc.stringMatching(new RegExp(`^[a-z]([a-z0-9-]{0,${max - 2}}[a-z0-9])?$`));
    const domain = fc
        .tuple(fc.boolean(), fc.array(label(63), { minLength: 1, maxLength: 3 }), label(20))
        .map(([wild, labels, tld]) =>
            `${wild ? "*." : ""}${[...labels, `x${tld}`].join(".")}`.slice(0, 253).replace(/[.-]+$/, ""),
        )
        .filter((d) => /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$/.test(d));
    const egress = fc.oneof(
        fc.constantFrom("internet", "none"),
        fc.uniqueArray(domain, { minLength: 1, maxLength: 40 }).map((allow) => ({ allow })),
    );
    const variant = fc.record({
        slots: fc.uniqueArray(
            label(12).filter((n) => n !== "states"),
            { minLength: 1, maxLength: 4 },
        ),
        egress: fc.array(egress, { minLength: 4, maxLength: 4 }),
        adminUser: fc.constantFrom("admin", "ops", "_deploy", "a-b"),
        comment: fc.constantFrom("", " you@example", " two words", " x@y.z (laptop)"),
    });

    rootOnly(
        "generated variants: slot names, egress allowlists of up to 40 long domains, admin users, key comments",
        async () => {
            const files: string[] = [];
            const samples = fc.sample(variant, { numRuns: 6, seed: 18 });
            for (const [i, v] of samples.entries()) {
                const doc = exampleStack();
                const cfg = doc.config;
                cfg["microvm-infra:host"].adminUser = v.adminUser;
                cfg["microvm-infra:host"].sshPublicKeys = [
                    `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA${v.comment}`,
                ];
                delete cfg["microvm-infra:states"];
                cfg["microvm-infra:slots"] = Object.fromEntries(
                    v.slots.map((name, j) => [name, { index: j + 1, egress: v.egress[j] }]),
                );
                try {
                    files.push(...renderedFiles(await planDoc(doc), `variant${i}`));
                } catch (err) {
                    // A config the program refuses never reaches a host; only accepted ones must pass.
                    if (!(err instanceof ConfigError)) {
                        throw err;
                    }
                }
            }
            expect(files.length).toBeGreaterThan(0);
            expect(hostChecks(files)).toBe("");
        },
        600000,
    );
});
