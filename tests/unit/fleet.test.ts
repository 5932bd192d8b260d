/**
 * A fleet: several hosts in one stack (issue 14, the program's side). A one-host stack keeps its
 * resources (tests/unit/urns.test.ts), and listing its host under `hosts.main` changes nothing;
 * each further host gets its own instance, volume, subnet, deployment, slot map and routes; states
 * live on their slot's host and move between hosts by a config edit; replicas and backups.
 */
import { readFileSync } from "fs";
import { parseStackConfig } from "../../infra/config";
import { periodMinutes } from "../../infra/config/fleet";
import { repoPath } from "../helpers/paths";
import { main } from "../../tools/plan";
import { crossHostCloneProblems } from "../../tools/plan/changeChecks";
import { diffPlans } from "../../tools/plan/diff";
import { renderReview } from "../../tools/plan/markdown";
import { reviewChange } from "../../tools/plan/review";
import { Plan } from "../../tools/plan/run";
import { key, configProblems, validHost } from "../helpers/config";
import { byType, examplePlan, exampleStack, one, planDoc, StackDoc, writeStack } from "../helpers/stacks";

/** The example with a second host, `big`, running slot5; dev stays on main; slot1 replicated to big. */
function twoHosts(edit?: (doc: StackDoc) => void): StackDoc {
    const doc = exampleStack();
    const c = doc.config;
    c["microvm-infra:hosts"] = {
        main: {},
        big: { instanceType: "m7g.metal", availabilityZone: "us-east-1b", subnetCidr: "172.20.2.0/24" },
    };
    for (const s of ["slot1", "slot2", "slot3", "slot4"]) {
        c["microvm-infra:slots"][s] = { ...(c["microvm-infra:slots"][s] ?? {}), host: "main" };
    }
    c["microvm-infra:slots"].slot5.host = "big";
    c["microvm-infra:states"].slot1.replicate = { to: "big", every: "15m" };
    edit?.(doc);
    return doc;
}

const named = (plan: Plan, type: string, name: string) => one(plan, type, name);
const infraOf = (plan: Plan, host: string) => JSON.parse(plan.hostFiles[host]["nixos/infra.json"]);

describe("one host", () => {
    test("listing the one host under hosts.main changes no resource and no input", async () => {
        const doc = exampleStack();
        doc.config["microvm-infra:hosts"] = { main: {} };
        const diff = diffPlans((await examplePlan()).resources, (await planDoc(doc)).resources);
        expect([diff.create, diff.update, diff.replace, diff.delete]).toEqual([[], [], [], []]);
    });

    test("a one-host stack has no fleet block, no placement and no fleet key", async () => {
        const plan = await examplePlan();
        expect(infraOf(plan, "main").fleet).toBeUndefined();
        expect(plan.resources.filter((r) => r.name.endsWith("/placement") || r.name.includes("fleet"))).toEqual([]);
    });
});

describe("two hosts", () => {
    let plan: Plan;
    beforeAll(async () => {
        plan = await planDoc(twoHosts());
    }, 120000);

    test("each host has its own instance, volume, subnet, deployment, slot map and routes; main keeps its names", () => {
        for (const [type, names] of Object.entries({
            "aws:ec2/instance:Instance": ["microvm-big-host", "microvm-host"],
            "aws:ebs/volume:Volume": ["microvm-big-state", "microvm-state"],
            "aws:ec2/subnet:Subnet": ["microvm-public", "microvm-public-big"],
            "command:remote:CopyToRemote": ["microvm-big-bundle", "microvm-bundle"],
            "tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes": ["microvm-big-routes", "microvm-routes"],
        })) {
            expect({
                type,
                names: byType(plan, type)
                    .map((r) => r.name)
                    .sort(),
            }).toEqual({ type, names });
        }
        expect(named(plan, "aws:ec2/subnet:Subnet", "microvm-public-big").inputs).toMatchObject({
            cidrBlock: "172.20.2.0/24",
            availabilityZone: "us-east-1b",
        });
        expect(
            named(plan, "tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes", "microvm-big-routes").inputs.routes,
        ).toEqual(["10.5.0.0/24"]);
        expect(named(plan, "command:remote:Command", "microvm-big-slots").inputs.stdin).toBe(
            '{"slots":{"slot5":"slot5"}}\n',
        );
        expect(named(plan, "command:remote:Command", "microvm-slots").inputs.stdin).toBe(
            '{"slots":{"slot1":"slot1","slot2":"slot2","slot3":"slot3","slot4":"dev"}}\n'.replace(
                '"slot4":"dev"',
                '"slot4":"slot4"',
            ),
        );
    });

    test("each host's infra.json holds its own slots and routes, and the fleet: addresses, host keys, the transfer key's public half, replicas", () => {
        const main = infraOf(plan, "main");
        const big = infraOf(plan, "big");
        expect(main.slots.map((s: any) => s.name)).toEqual(["slot1", "slot2", "slot3", "slot4"]);
        expect(big.slots.map((s: any) => s.name)).toEqual(["slot5"]);
        expect(big.tailscale).toMatchObject({ hostname: "microvm-host-big", advertiseRoutes: ["10.5.0.0/24"] });
        expect(big.host.hostId).not.toBe(main.host.hostId);
        expect(main.fleet).toEqual({ ...big.fleet, self: "main" });
        expect(big.fleet).toMatchObject({
            self: "big",
            hosts: [
                {
                    name: "main",
                    address: "172.20.1.10",
                    backend: "zfs",
                    hostKey: expect.stringMatching(/^ssh-ed25519 /),
                },
                {
                    name: "big",
                    address: "172.20.2.10",
                    backend: "zfs",
                    hostKey: expect.stringMatching(/^ssh-ed25519 /),
                },
            ],
            transferKeyFile: "/var/lib/microvm-infra/secrets/fleet-transfer-key",
            transferPublicKey: expect.stringMatching(/^ssh-ed25519 \S+ microvm-infra-fleet$/),
            replicas: [
                {
                    state: "slot1",
                    from: "main",
                    to: "big",
                    every: "15m",
                    keep: { hourly: 24, daily: 7, weekly: 0, monthly: 0 },
                },
            ],
        });
        expect(big.storage.autoSnapshots).toEqual([]);
        expect(main.storage.autoSnapshots.map((a: any) => a.state)).toEqual(["slot1"]);
    });

    test("the transfer key reaches every host only as a secret file; the hosts may SSH to each other, nobody else", () => {
        const transfer = named(plan, "tls:index/privateKey:PrivateKey", "microvm-fleet-transfer");
        expect(transfer.options.additionalSecretOutputs).toEqual(expect.arrayContaining(["privateKeyOpenssh"]));
        for (const secrets of ["microvm-secrets", "microvm-big-secrets"]) {
            const r = named(plan, "command:remote:Command", secrets);
            expect(r.inputs.create).toContain("/var/lib/microvm-infra/secrets/fleet-transfer-key");
            expect(r.secretInputs).toContain("stdin");
        }
        const rule = named(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "microvm-fleet-ssh");
        expect(rule.inputs).toMatchObject({ fromPort: 22, toPort: 22, ipProtocol: "tcp" });
        expect(rule.inputs.cidrIpv4).toBeUndefined();
        expect(rule.propertyDependencies.referencedSecurityGroupId).toEqual([
            named(plan, "aws:ec2/securityGroup:SecurityGroup", "microvm-host").urn,
        ]);
    });

    test("every state is placed on its host first, and its commands run there", () => {
        const placement = named(plan, "command:remote:Command", "slot5/placement");
        expect(placement.inputs.create).toMatch(/^set -- 'slot5' 'big'\n/);
        const state = named(plan, "command:remote:Command", "slot5");
        expect(state.options.dependsOn).toContain(placement.urn);
        expect(state.options.deletedWith).toBe(named(plan, "microvm-infra:aws:Host", "microvm-big").urn);
        expect(named(plan, "command:remote:Command", "dev/placement").inputs.create).toMatch(/^set -- 'dev' 'main'\n/);
    });

    test("moving a state to a slot on another host is one edit; the plan shows the transfer and which slots restart", async () => {
        const moved = await planDoc(
            twoHosts((d) => {
                d.config["microvm-infra:slots"].slot5.state = "dev";
            }),
        );
        const diff = diffPlans(plan.resources, moved.resources);
        const names = (cs: { urn: string }[]) => cs.map((c) => c.urn.split("::").pop()).sort();
        expect(names(diff.update)).toEqual(["dev", "dev/placement", "microvm-big-slots"]);
        expect(diff.update.find((c) => c.urn.endsWith("::dev/placement"))!.runs).toEqual([
            "create again on the host (the command has no update)",
        ]);
        expect(diff.create).toEqual([]);
        expect(diff.delete).toEqual([]);
        const review = reviewChange(plan, moved, diff);
        expect(review.states).toEqual(
            expect.arrayContaining([
                expect.objectContaining({
                    state: "dev",
                    change: "transferred",
                    detail: expect.stringMatching(/^from host main to host big \(up to 64 GiB/),
                }),
            ]),
        );
        expect(review.slots.filter((s) => s.change !== "unchanged")).toEqual([
            { slot: "slot5", change: "restarts", why: ["runs state dev instead of slot5"] },
        ]);
        expect(renderReview(review, "test")).toContain("| `dev` | transferred | from host main to host big");
    });

    test("a new clone of a state on another host is refused at plan time (--against), saying to clone on the source's host, then move", async () => {
        const cloneOnBig = twoHosts((d) => {
            d.config["microvm-infra:states"].copy = { from: "slot1" };
            d.config["microvm-infra:slots"].slot5.state = "copy";
        });
        const next = await planDoc(cloneOnBig);
        expect(crossHostCloneProblems(plan, next)).toEqual([
            "states.copy.from: copy would be created on host big as a clone of slot1, which lives on host main: vm-state makes a copy on the host that holds the source. " +
                "Create it on main first (keep its slot there, or set states.copy.host: main), pulumi up, then move it to big with a second edit",
        ]);
        // The same clone on its source's host, then moved by a second edit: both accepted.
        const cloneOnMain = await planDoc(
            twoHosts((d) => {
                d.config["microvm-infra:states"].copy = { from: "slot1", host: "main" };
            }),
        );
        expect(crossHostCloneProblems(plan, cloneOnMain)).toEqual([]);
        expect(crossHostCloneProblems(cloneOnMain, next)).toEqual([]);
        // npm run plan -- --against: exit 1, naming the key.
        let err = "";
        const o = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
        const e = jest.spyOn(process.stderr, "write").mockImplementation((chunk: any) => {
            err += String(chunk);
            return true;
        });
        try {
            expect(await main(["--config", writeStack(cloneOnBig), "--against", writeStack(twoHosts())])).toBe(1);
        } finally {
            o.mockRestore();
            e.mockRestore();
        }
        expect(err).toContain(
            "states.copy.from: copy would be created on host big as a clone of slot1, which lives on host main",
        );
    });

    test("a restored state moved to another host (the documented move of dev) is not a new clone", async () => {
        const moved = await planDoc(
            twoHosts((d) => {
                d.config["microvm-infra:slots"].slot5.state = "dev";
            }),
        );
        expect(moved.config.states.find((s) => s.name === "dev")!.host).toBe("big");
        expect(crossHostCloneProblems(plan, moved)).toEqual([]);
    });

    test("the copy a move leaves on the source is removed after the move only for states with onRemove: destroy", async () => {
        // The example's states keep removed data (onRemove: retain): nothing ever collects their copies.
        expect(byType(plan, "microvm-infra:state:MovedCopies")).toEqual([]);
        const destroy = await planDoc(
            twoHosts((d) => {
                d.config["microvm-infra:states"].dev = { ...d.config["microvm-infra:states"].dev, onRemove: "destroy" };
            }),
        );
        // dev lives on main: big collects dev's copy (if dev ever moved away from big), main does not.
        expect(byType(destroy, "microvm-infra:state:MovedCopies").map((r) => r.name)).toEqual(["microvm-big"]);
        const collect = named(destroy, "command:remote:Command", "microvm-big-moved-copies");
        expect(collect.inputs.create).toMatch(/gc --fleet-moved 'dev'\n$/);
        // Only once the states run where they live now: after every host's slot map and the state itself.
        for (const after of ["microvm-slots", "microvm-big-slots", "dev"]) {
            expect(collect.options.dependsOn).toContain(named(destroy, "command:remote:Command", after).urn);
        }
        // Moving dev to big: main now collects dev's copy, big no longer lists it.
        const moved = await planDoc(
            twoHosts((d) => {
                d.config["microvm-infra:states"].dev = { ...d.config["microvm-infra:states"].dev, onRemove: "destroy" };
                d.config["microvm-infra:slots"].slot5.state = "dev";
            }),
        );
        expect(byType(moved, "microvm-infra:state:MovedCopies").map((r) => r.name)).toEqual(["microvm"]);
        expect(named(moved, "command:remote:Command", "microvm-moved-copies").inputs.create).toMatch(
            /gc --fleet-moved 'dev'\n$/,
        );
    });

    test("backups: a lifecycle policy for the fleet's state volumes, with its own least-privilege role", async () => {
        const backed = await planDoc(
            twoHosts((d) => {
                d.config["microvm-infra:storage"].backups = { everyHours: 12, keep: 14 };
            }),
        );
        const policy = named(backed, "aws:dlm/lifecyclePolicy:LifecyclePolicy", "microvm-backups-policy");
        expect(policy.inputs.policyDetails).toMatchObject({
            resourceTypes: ["VOLUME"],
            targetTags: { "microvm-infra:state-volume": "microvm-infra/dev" },
            schedules: [
                {
                    createRule: { interval: 12, intervalUnit: "HOURS" },
                    retainRule: { count: 14 },
                    copyTags: false,
                    tagsToAdd: { "microvm-infra:backup": "microvm-infra/dev" },
                },
            ],
        });
        expect(
            JSON.parse(named(backed, "aws:iam/role:Role", "microvm-backups-role").inputs.assumeRolePolicy as string)
                .Statement[0].Principal,
        ).toEqual({ Service: "dlm.amazonaws.com" });
    });

    test("a host restored from an EBS snapshot gets its state volume from it, and its infra.json says so (the pool was another host's)", async () => {
        const restored = await planDoc(
            twoHosts((d) => {
                d.config["microvm-infra:hosts"].big.storage = { fromSnapshot: "snap-0123456789abcdef0" };
            }),
        );
        expect(named(restored, "aws:ebs/volume:Volume", "microvm-big-state").inputs.snapshotId).toBe(
            "snap-0123456789abcdef0",
        );
        expect(infraOf(restored, "big").storage.fromSnapshot).toBe("snap-0123456789abcdef0");
        expect(infraOf(restored, "main").storage).not.toHaveProperty("fromSnapshot");
    });

    test("a new host is dialled on its public address while the others go over the tailnet (hosts.<name>.connectVia)", async () => {
        const mixed = await planDoc(
            twoHosts((d) => {
                d.config["microvm-infra:host"].connectVia = "tailscale";
                d.config["microvm-infra:hosts"].big.connectVia = "public";
            }),
        );
        // The wait's arguments: MODE ADDRESS PORT ... VIA (components/deploy/local/wait-for-ssh.sh).
        const dialled = (name: string) =>
            /^set -- 'new' '([^']*)' '22' '\d+' '[^']*' '[^']*' '[^']*' '(public|tailnet)'/
                .exec(String(named(mixed, "command:local:Command", name).inputs.create))!
                .slice(1);
        expect(dialled("microvm-ssh-ready")).toEqual([mixed.config.hosts[0].tailscaleHostname, "tailnet"]);
        const [address, via] = dialled("microvm-big-ssh-ready");
        expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/); // its (mock) public IP
        expect(via).toBe("public");
    });

    test("the stack exports each host's outputs (infra/index.ts exports every output the program returns)", () => {
        const exported = [
            ...readFileSync(repoPath("infra/index.ts"), "utf8").matchAll(/^export const (\w+) = outputs\.(\w+);$/gm),
        ];
        expect(exported.every((m) => m[1] === m[2])).toBe(true);
        expect(exported.map((m) => m[1]).sort()).toEqual(Object.keys(plan.outputs).sort());
        expect(Object.keys(plan.outputs.hosts as object)).toEqual(["main", "big"]);
    });
});

describe("fleet config is validated like the rest", () => {
    const problems = (raw: Record<string, any>): string[] => configProblems({ host: validHost(), ...raw });
    const hosts = { main: {}, big: { subnetCidr: "172.20.2.0/24" } };

    test.each<[string, Record<string, any>, string]>([
        [
            "a slot without a host when there are several",
            { hosts, slots: { slot1: { host: "main" }, slot2: {} } },
            "slots.slot2.host: is required: the stack has several hosts (main, big), so a slot must say which one",
        ],
        [
            "an unknown host",
            { hosts, slots: { slot1: { host: "small" } } },
            'slots.slot1.host: names host "small", which is not in hosts (main, big)',
        ],
        [
            "a second host without a subnet",
            { hosts: { main: {}, big: {} }, slots: { slot1: { host: "main" } } },
            "hosts.big.subnetCidr: is required for a host other than main: its own subnet, an unused IPv4 CIDR inside network.vpcCidr (172.20.0.0/16), such as a /24",
        ],
        [
            "overlapping subnets",
            { hosts: { main: {}, big: { subnetCidr: "172.20.1.0/25" } }, slots: { slot1: { host: "main" } } },
            'hosts.big.subnetCidr: "172.20.1.0/25" overlaps the subnet of network.subnetCidr; each host needs its own subnet',
        ],
        [
            "a host subnet smaller than AWS creates",
            { hosts: { main: {}, big: { subnetCidr: "172.20.2.0/29" } }, slots: { slot1: { host: "main" } } },
            'hosts.big.subnetCidr: must have a prefix from /16 to /28 (AWS\'s subnet sizes: at least 16 addresses, of which AWS keeps 5), got "172.20.2.0/29"',
        ],
        [
            "a second host in main's subnet",
            { hosts: { main: {}, big: { subnetCidr: "172.20.1.0/24" } }, slots: { slot1: { host: "main" } } },
            'hosts.big.subnetCidr: "172.20.1.0/24" is main\'s subnet (network.subnetCidr); each host needs its own subnet, an unused IPv4 CIDR inside network.vpcCidr (172.20.0.0/16)',
        ],
        [
            "main moved out of network.subnetCidr",
            { hosts: { main: { subnetCidr: "172.20.9.0/24" } }, slots: { slot1: {} } },
            "hosts.main.subnetCidr: main's subnet is network.subnetCidr (172.20.1.0/24); change that key instead, or leave this one out",
        ],
        [
            "a host named like vm-state's states directory",
            { hosts: { main: {}, states: { subnetCidr: "172.20.2.0/24" } }, slots: { slot1: { host: "main" } } },
            'hosts.states: host name "states" is reserved (hosts follow the slot rule, and vm-state keeps the states in <root>/states)',
        ],
        [
            "a host reached over a tailnet that is off",
            {
                tailscale: { enabled: false },
                host: { sshPublicKeys: [key], adminCidrs: ["203.0.113.0/24"] },
                hosts: { main: {}, big: { subnetCidr: "172.20.2.0/24", connectVia: "tailscale" } },
                slots: { slot1: { host: "main" } },
            },
            'hosts.big.connectVia: is "tailscale" but tailscale.enabled is false; set it to "public" or enable Tailscale',
        ],
        [
            "a new host reached publicly, with no admin CIDR",
            {
                host: { sshPublicKeys: [key], adminCidrs: [], connectVia: "tailscale" },
                hosts: { main: {}, big: { subnetCidr: "172.20.2.0/24", connectVia: "public" } },
                slots: { slot1: { host: "main" } },
            },
            expect.stringMatching(/^host\.adminCidrs: is empty, so Pulumi has no way to reach the host over SSH/),
        ],
        [
            "storage.backups with no state volume anywhere",
            { storage: { backend: "files", backups: { everyHours: 24 } }, slots: { slot1: {} } },
            'storage.backups: snapshots the hosts\' state volumes, but no host has one (storage.backend "files" keeps the states on the root disk); remove storage.backups, or use "zfs" or "xfs"',
        ],
        [
            "a host name that is no name",
            { hosts: { Big: {} }, slots: { slot1: {} } },
            "hosts.Big: host name must be lowercase letters, digits and '-', starting with a letter and not ending with '-', got \"Big\"",
        ],
        [
            "a state on one host, run by a slot on another",
            {
                hosts,
                slots: { slot1: { host: "main" }, slot2: { host: "big", state: "copy" } },
                states: { copy: { host: "main" } },
            },
            'states.copy.host: is "main", but the slot that runs it is on big; a state lives where its slot runs (remove states.copy.host)',
        ],
        [
            "an unattached state with no host to infer",
            { hosts, slots: { slot1: { host: "main" } }, states: { spare: {} } },
            "states.spare.host: is required: the stack has several hosts (main, big), so a state that no slot runs must say which one",
        ],
        [
            "a replica on the state's own host",
            { hosts, slots: { slot1: { host: "main" } }, states: { slot1: { replicate: { to: "main" } } } },
            "states.slot1.replicate.to: is the host the state already lives on (main); a replica protects against losing that host, so it goes to another one",
        ],
        [
            "a replica with a bad period",
            { hosts, slots: { slot1: { host: "main" } }, states: { slot1: { replicate: { to: "big", every: "2m" } } } },
            'states.slot1.replicate.every: must be a period of at least 5m that divides an hour (5m, 6m, 10m, 12m, 15m, 20m, 30m) or whole hours that divide a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 1d), got "2m"',
        ],
        [
            "a replica between backends",
            {
                hosts: { main: {}, big: { subnetCidr: "172.20.2.0/24", storage: { backend: "xfs" } } },
                slots: { slot1: { host: "main" } },
                states: { slot1: { replicate: { to: "big" } } },
            },
            "states.slot1.replicate.to: host big stores states with xfs, host main with zfs; replicas need the same backend",
        ],
        [
            "a bad snapshot id",
            { hosts: { main: { storage: { fromSnapshot: "snapshot-1" } } }, slots: { slot1: {} } },
            'hosts.main.storage.fromSnapshot: must be an EBS snapshot id, "snap-" and 8 or 17 lowercase hex digits (such as "snap-0123456789abcdef0"), got "snapshot-1"',
        ],
        [
            "a host restored from an EBS snapshot, on the files backend (no state volume to restore)",
            {
                hosts: { main: { storage: { backend: "files", fromSnapshot: "snap-0123456789abcdef0" } } },
                slots: { slot1: {} },
            },
            'hosts.main.storage.fromSnapshot: restores the host\'s state volume from an EBS snapshot, but its storage.backend is "files": no state volume, the states live on the root disk; remove fromSnapshot, or set hosts.main.storage.backend to the backend the snapshot\'s host used ("zfs" or "xfs")',
        ],
        [
            "the same, with files as the fleet's backend",
            {
                storage: { backend: "files" },
                hosts: {
                    main: {},
                    big: { subnetCidr: "172.20.2.0/24", storage: { fromSnapshot: "snap-0123456789abcdef0" } },
                },
                slots: { slot1: { host: "main" } },
            },
            expect.stringMatching(
                /^hosts\.big\.storage\.fromSnapshot: restores the host's state volume from an EBS snapshot, but its storage\.backend is "files"/,
            ),
        ],
        [
            "a backup interval DLM cannot schedule",
            { storage: { backups: { everyHours: 5 } }, slots: { slot1: {} } },
            "storage.backups.everyHours: must be one of 1, 2, 3, 4, 6, 8, 12, 24 (the intervals EBS lifecycle policies schedule), got 5",
        ],
        [
            "scheduled snapshots on a host that is not zfs, though the fleet's default is",
            {
                hosts: { main: {}, big: { subnetCidr: "172.20.2.0/24", storage: { backend: "xfs" } } },
                slots: { slot1: { host: "main" }, slot2: { host: "big" } },
                states: { slot2: { autoSnapshots: { daily: 7 } } },
            },
            'states.slot2.autoSnapshots: needs hosts.big.storage.backend "zfs", not "xfs" (scheduled snapshots are ZFS snapshots taken by sanoid)',
        ],
        [
            "too much memory on one host",
            { hosts, slots: { slot1: { host: "main", memMiB: 30000 }, slot2: { host: "big" } } },
            expect.stringMatching(
                /^hosts\.main: the slots' \(on main\) memory adds up to 30000 MiB, but a1\.metal has 32 GiB/,
            ),
        ],
    ])("%s", (_what, raw, message) => {
        expect(problems(raw)).toEqual([message]);
    });
});

test("scheduled snapshots follow the state's host: on a zfs host they are accepted though the default backend is files", () => {
    expect(() =>
        parseStackConfig({
            host: { sshPublicKeys: [key], adminCidrs: ["203.0.113.0/24"] },
            storage: { backend: "files" },
            hosts: { main: {}, big: { subnetCidr: "172.20.2.0/24", storage: { backend: "zfs" } } },
            slots: { slot1: { host: "main" }, slot2: { host: "big" } },
            states: { slot2: { autoSnapshots: { daily: 7 } } },
        }),
    ).not.toThrow();
});

describe("replication periods: the shared accept/reject table (tests/fixtures/intervals.json)", () => {
    const table: { cases: { every: string; valid: boolean; minutes?: number }[] } = JSON.parse(
        readFileSync(repoPath("tests/fixtures/intervals.json"), "utf8"),
    );
    test.each(table.cases.map((c) => [c.every, c.valid, c.minutes] as const))(
        "%j valid %s",
        (every, valid, minutes) => {
            expect(periodMinutes(every)).toBe(valid ? minutes : undefined);
        },
    );
});
