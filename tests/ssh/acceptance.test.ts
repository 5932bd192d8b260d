/**
 * The acceptance run's host check (acceptance/host/verify.sh), run as acceptance/run.sh runs it:
 * over real SSH, as root's stand-in, with what it expects computed from the acceptance stack's
 * config by acceptance/expected.ts. The host is the test sshd's: the real vm-state on its files
 * backend holds the states; the recording fake systemctl says which VMs run; fakes stand in for
 * what cannot run here (no VM, no slot bridge): `ping` from the host (fakes/probe) and the probe
 * from a slot's network (fakes/slot-probe). Each failure a real host could show makes it fail,
 * naming the check: a slot not running or not answering, a slot reaching another or the metadata
 * service, an allowlist letting another domain through, a host not switched, a missing state or
 * snapshot, a slot running the wrong state.
 */
import { execFileSync } from "child_process";
import { readFileSync } from "fs";
import { parse } from "yaml";
import { Expected, expectedOf } from "../../acceptance/expected";
import { planDoc, StackDoc } from "../helpers/stacks";
import { repoPath } from "../helpers/paths";
import { requireTools } from "../helpers/tools";
import { requiredTools, SshHost, startHost } from "./harness";

const suite = requireTools(
    [...requiredTools, "sshd"],
    "apt-get install openssh-server openssh-client e2fsprogs jq util-linux",
).describe;
jest.setTimeout(600000);

const bundleHash = "ab".repeat(32);

/** The acceptance stack as acceptance/run.sh makes it, after its edits; `backend` for the test host. */
function acceptanceStack(backend: "zfs" | "files"): StackDoc {
    const doc = parse(readFileSync(repoPath("acceptance/stack.yaml"), "utf8")) as StackDoc;
    const c = doc.config;
    c["aws:region"] = "us-east-1";
    c["microvm-infra:host"] = {
        ...c["microvm-infra:host"],
        instanceType: "a1.metal",
        sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl acceptance"],
        adminCidrs: ["198.51.100.7/32"],
    };
    c["microvm-infra:storage"] = { ...c["microvm-infra:storage"], backend };
    // The run's edits: a snapshot of slot1, a clone of it, the clone moved into slot3.
    c["microvm-infra:states"].slot1.snapshots = ["golden"];
    c["microvm-infra:states"].copy = { from: "slot1@golden", onRemove: "destroy" };
    c["microvm-infra:slots"].slot3.state = "copy";
    return doc;
}

suite("acceptance/host/verify.sh over real SSH", () => {
    let host: SshHost;
    let expected: Expected;
    let infraJson: string;

    const run = (command: string, stdin?: string) => host.run(command, stdin);
    const vmState = async (args: string, stdin?: string) => {
        const r = await run(`"$MICROVM_INFRA_VM_STATE" ${args}`, stdin);
        expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: expect.any(String) });
    };
    /** Runs the check as acceptance/run.sh does: the scripts on the host, the expectation on stdin. */
    const verify = async (input: string = JSON.stringify(expected)) => {
        const r = await run(`bash "${host.root}/acceptance/verify.sh"`, input);
        return { code: r.code, lines: r.stdout.trim().split("\n"), stderr: r.stderr };
    };
    /** What a well isolated host lets through, plus `extra` lines ("BRIDGE KIND TARGET"). */
    const reachable = (...extra: string[]) =>
        host.control(
            "slot-reachable",
            [
                "br-slot1 https aws.amazon.com", // slot1: egress internet
                "br-slot2 https example.com", // slot2: allowlist [example.com]
                ...extra,
            ].join("\n") + "\n",
        );
    const failures = (lines: string[]) => lines.filter((l) => !l.startsWith("ok   "));

    beforeAll(async () => {
        const plan = await planDoc(acceptanceStack("files"));
        expected = expectedOf(plan, bundleHash);
        infraJson = plan.files["nixos/infra.json"];
        host = await startHost();
        const tar = execFileSync("tar", ["-C", repoPath("acceptance/host"), "-cf", "-", "verify.sh", "probe.sh"]);
        expect(
            (await host.run(`mkdir -p "${host.root}/acceptance" && tar -xf - -C "${host.root}/acceptance"`, tar)).code,
        ).toBe(0);
        // The host as `pulumi up` leaves it: infra.json, the switch to the bundle recorded, the states, the slots.
        expect((await run(`cat >"${host.root}/infra.json"`, infraJson)).code).toBe(0);
        const setUp = [
            `mkdir -p "$FAKE_ROOT/store/gen-1" "$MICROVM_INFRA_STATE_DIR/switches/${bundleHash}"`,
            `ln -sfn "$FAKE_ROOT/store/gen-1" "$MICROVM_INFRA_CURRENT_SYSTEM"`,
            `readlink -f "$MICROVM_INFRA_CURRENT_SYSTEM" >"$MICROVM_INFRA_STATE_DIR/switches/${bundleHash}/system"`,
            `echo 0 >"$MICROVM_INFRA_STATE_DIR/switches/${bundleHash}/rc"`,
        ].join(" && ");
        expect((await run(setUp)).code).toBe(0);
        for (const s of ["slot1", "slot2", "slot3"]) {
            await vmState(`create ${s} --size-gib 1`);
        }
        await vmState("snapshot slot1 golden");
        await vmState("restore slot1@golden copy");
        await vmState("apply -", JSON.stringify({ slots: { slot1: "slot1", slot2: "slot2", slot3: "copy" } }));
    }, 300000);
    afterAll(async () => {
        await host?.stop();
    });
    beforeEach(() => {
        reachable();
        host.control("unreachable", "");
    });

    test("the expectation is the config's: three slots, slot3 running the clone, slot1's snapshot", () => {
        expect(expected.slots.map((s) => [s.name, s.state, s.address, s.egress.policy])).toEqual([
            ["slot1", "slot1", "10.1.0.2", "internet"],
            ["slot2", "slot2", "10.2.0.2", "allowlist"],
            ["slot3", "copy", "10.3.0.2", "none"],
        ]);
        expect(expected.states).toEqual([
            { name: "copy", snapshots: [] },
            { name: "slot1", snapshots: ["golden"] },
            { name: "slot2", snapshots: [] },
            { name: "slot3", snapshots: [] },
        ]);
    });

    test("a host that is what the config says passes every check, each on its own line", async () => {
        const r = await verify();
        expect(failures(r.lines)).toEqual(["verify: every check passed"]);
        expect(r.code).toBe(0);
        expect(r.lines).toEqual(
            expect.arrayContaining([
                `ok   the host runs the system of bundle ${bundleHash.slice(0, 12)}`,
                "ok   slot2: microvm@slot2 is running",
                "ok   slot3: its VM answers the host at 10.3.0.2",
                "ok   slot1: cannot reach slot2's VM (10.2.0.2)",
                "ok   slot3: cannot reach the instance metadata service",
                "ok   slot2: cannot reach SSH on its gateway (the host)",
                "ok   slot1: reaches the internet (https://aws.amazon.com)",
                "ok   slot2: allowlist: reaches https://example.com",
                "ok   slot2: allowlist: cannot reach https://example.org (not listed)",
                "ok   slot3: egress none: cannot reach https://aws.amazon.com",
                "ok   slot3: vm-state says it runs state copy",
                'ok   vm-state lists exactly the configured states ["copy","slot1","slot2","slot3"] (it lists ["copy","slot1","slot2","slot3"])',
                "ok   state slot1 has its snapshot golden",
            ]),
        );
        // Every probe ran from the slot's own bridge, at the address after its VM's, through its gateway.
        const probes = host.read("slot-probe.log");
        expect(probes).toContain("br-slot2 10.2.0.3/24 10.2.0.1 tcp 169.254.169.254:80\n");
        expect(probes).toContain("br-slot3 10.3.0.3/24 10.3.0.1 ping 10.1.0.2\n");
    });

    test("one slot reaching another is enough to fail the run, naming the check", async () => {
        reachable("br-slot1 ping 10.2.0.2");
        const r = await verify();
        expect(r.code).toBe(1);
        expect(failures(r.lines)).toEqual(["FAIL slot1: cannot reach slot2's VM (10.2.0.2)"]);
        expect(r.stderr).toContain("verify: some checks failed (FAIL lines above)");
    });

    test("every isolation and egress fault is its own FAIL line: other slots, metadata, host SSH, allowlist, egress none, no internet, a silent VM", async () => {
        host.control(
            "slot-reachable",
            [
                "br-slot3 ping 10.1.0.2", // a slot that reaches another
                "br-slot3 tcp 169.254.169.254:80", // the metadata service
                "br-slot1 tcp 10.1.0.1:22", // the host's SSH
                "br-slot2 https example.org", // an allowlist letting another domain through
                "br-slot2 tcp 1.1.1.1:443", // an allowlist slot reaching an address directly
                "br-slot3 https aws.amazon.com", // egress none reaching the internet
                // slot1 (internet) cannot get out; slot2's listed domain does not get through
            ].join("\n") + "\n",
        );
        host.control("unreachable", "10.2.0.2\n"); // a VM that does not answer the host
        const r = await verify();
        expect(r.code).toBe(1);
        expect(failures(r.lines)).toEqual([
            "FAIL slot2: its VM answers the host at 10.2.0.2",
            "FAIL slot1: cannot reach SSH on its gateway (the host)",
            "FAIL slot1: reaches the internet (https://aws.amazon.com)",
            "FAIL slot2: allowlist: reaches https://example.com",
            "FAIL slot2: allowlist: cannot reach https://example.org (not listed)",
            "FAIL slot2: allowlist: cannot reach 1.1.1.1:443 by address",
            "FAIL slot3: cannot reach slot1's VM (10.1.0.2)",
            "FAIL slot3: cannot reach the instance metadata service",
            "FAIL slot3: egress none: cannot reach https://aws.amazon.com",
        ]);
    });

    test("a host that did not switch to the bundle, or switched and failed, fails", async () => {
        const rc = `"$MICROVM_INFRA_STATE_DIR/switches/${bundleHash}/rc"`;
        expect((await run(`echo 4 >${rc}`)).code).toBe(0);
        try {
            expect(failures((await verify()).lines)).toEqual([
                `FAIL the host runs the system of bundle ${bundleHash.slice(0, 12)}`,
            ]);
        } finally {
            await run(`echo 0 >${rc}`);
        }
        const other = { ...expected, bundleHash: "cd".repeat(32) };
        expect(failures((await verify(JSON.stringify(other))).lines)).toEqual([
            `FAIL the host runs the system of bundle ${"cd".repeat(6)}`,
        ]);
    });

    test("a slot whose VM is not running fails", async () => {
        const unit = `"$FAKE_ROOT/units/microvm@slot2.service"`;
        expect((await run(`rm ${unit}`)).code).toBe(0);
        try {
            const r = await verify();
            expect(r.code).toBe(1);
            expect(failures(r.lines)).toEqual(["FAIL slot2: microvm@slot2 is running"]);
        } finally {
            await run(`touch ${unit}`);
        }
    });

    test("expectations that are not JSON of the right shape are refused (exit 2), nothing checked", async () => {
        for (const bad of [
            "",
            "{}",
            JSON.stringify({ ...expected, bundleHash: "xyz" }),
            JSON.stringify({ ...expected, slots: [] }),
        ]) {
            const r = await verify(bad);
            expect({ bad, code: r.code }).toEqual({ bad, code: 2 });
            expect(r.stderr).toContain("verify: expected JSON on stdin");
        }
    });

    // These change the host's states: last.
    test("a missing snapshot, a slot running another state and a missing state fail, each named", async () => {
        await vmState("delete-snapshot slot1@golden --yes");
        expect(failures((await verify()).lines)).toEqual(["FAIL state slot1 has its snapshot golden"]);
        await vmState("assign slot3 slot3");
        await vmState("delete copy --yes");
        const r = await verify();
        expect(r.code).toBe(1);
        expect(failures(r.lines)).toEqual([
            "FAIL slot3: vm-state says it runs state copy",
            'FAIL vm-state lists exactly the configured states ["copy","slot1","slot2","slot3"] (it lists ["slot1","slot2","slot3"])',
            "FAIL state slot1 has its snapshot golden",
        ]);
    });
});

describe("the acceptance stack", () => {
    test("plans as the run deploys it (zfs, the cheapest metal type), edits included", async () => {
        const plan = await planDoc(acceptanceStack("zfs"));
        expect(plan.config.hosts[0].instanceType).toBe("a1.metal");
        expect(plan.config.hosts[0].storage.backend).toBe("zfs");
        expect(
            plan.resources
                .filter((r) => r.type === "microvm-infra:state:VmState")
                .map((r) => r.name)
                .sort(),
        ).toEqual(["copy", "slot1", "slot2", "slot3"]);
        expect(plan.resources.some((r) => r.type.startsWith("tailscale:"))).toBe(false);
    });
});
