import { ConfigError, nameProblem, parseStackConfig, StackConfig } from "../../infra/config";
import { checkSshPublicKey } from "../../infra/sshKey";

const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA you@example";
const rsaBlobWithEd25519Name = "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA x";

type Raw = Record<string, any>;

function valid(): Raw {
    return {
        host: { sshPublicKeys: [key], adminCidrs: ["203.0.113.0/24"] },
        slots: { slot1: {}, slot2: {}, slot3: {}, slot4: {}, slot5: {} },
    };
}

function parse(edit: (raw: Raw) => void, keys: string[] = []): StackConfig {
    const raw = valid();
    edit(raw);
    return parseStackConfig(raw, keys);
}

function problems(edit: (raw: Raw) => void, keys: string[] = []): string[] {
    try {
        parse(edit, keys);
    } catch (err) {
        if (err instanceof ConfigError) {
            return [...err.problems];
        }
        throw err;
    }
    return [];
}

describe("defaults", () => {
    test("a minimal config gets the documented defaults", () => {
        const cfg = parse(() => undefined);
        expect(cfg.host).toMatchObject({ instanceType: "a1.metal", rootVolumeGiB: 64, adminUser: "admin", connectVia: "public" });
        expect(cfg.storage).toEqual({ backend: "zfs", volumeGiB: 256, volumeType: "gp3", iops: undefined, throughputMiBps: undefined });
        expect(cfg.tailscale).toEqual({ enabled: true, hostname: "microvm-host", tags: ["tag:microvm-host"], managePolicy: false });
        expect(cfg.network).toEqual({ vpcCidr: "172.20.0.0/16", subnetCidr: "172.20.1.0/24" });
        expect(cfg.slots[0]).toEqual({ name: "slot1", index: 1, state: "slot1", vcpu: 1, memMiB: 1024, diskGiB: 64 });
    });

    test("every slot's own state exists without being listed, attached to its slot, retained on removal", () => {
        const cfg = parse(() => undefined);
        expect(cfg.states.map((s) => [s.name, s.slot, s.onRemove])).toEqual([
            ["slot1", "slot1", "retain"], ["slot2", "slot2", "retain"], ["slot3", "slot3", "retain"],
            ["slot4", "slot4", "retain"], ["slot5", "slot5", "retain"],
        ]);
    });

    test("slots come sorted by index whatever the map order", () => {
        const cfg = parse((r) => { r.slots = { web: { index: 9 }, slot10: {}, slot2: {} }; });
        expect(cfg.slots.map((s) => [s.name, s.index])).toEqual([["slot2", 2], ["web", 9], ["slot10", 10]]);
    });

    test("numbers set with `pulumi config set --path` as strings are accepted", () => {
        const cfg = parse((r) => { r.slots.slot1 = { memMiB: "2048", vcpu: "2" }; });
        expect(cfg.slots[0]).toMatchObject({ memMiB: 2048, vcpu: 2 });
    });

    test("states are ordered after the state they are cloned from, and clones take their slot's disk size", () => {
        const cfg = parse((r) => {
            r.states = { c: { from: "b" }, b: { from: "slot1@base" }, slot1: { snapshots: ["base"] } };
            r.slots.slot3 = { state: "c", diskGiB: 10 };
        });
        const names = cfg.states.map((s) => s.name);
        expect(names.indexOf("slot1")).toBeLessThan(names.indexOf("b"));
        expect(names.indexOf("b")).toBeLessThan(names.indexOf("c"));
        expect(cfg.states.find((s) => s.name === "b")!.from).toEqual({ state: "slot1", snapshot: "base" });
        expect(cfg.states.find((s) => s.name === "c")).toMatchObject({ slot: "slot3", diskGiB: 10 });
        // slot3's own state still exists, detached, so moving c in did not lose slot3's data
        expect(cfg.states.find((s) => s.name === "slot3")).toMatchObject({ slot: undefined });
    });

    test("swapping two slots' states is valid", () => {
        const cfg = parse((r) => { r.slots.slot1 = { state: "slot3" }; r.slots.slot3 = { state: "slot1" }; });
        expect(cfg.slots.filter((s) => s.index === 1 || s.index === 3).map((s) => s.state)).toEqual(["slot3", "slot1"]);
    });

    test("100 slots fit on m7g.metal", () => {
        const cfg = parse((r) => {
            r.host.instanceType = "m7g.metal";
            r.slots = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`slot${i + 1}`, {}]));
        });
        expect(cfg.slots).toHaveLength(100);
    });
});

describe("invalid configs are rejected with a message naming the key", () => {
    test.each<[string, (r: Raw) => void, string]>([
        ["unknown host key", (r) => { r.host.instanceTyp = "a1.metal"; },
            "host.instanceTyp: unknown key; valid keys of host are instanceType, ami, rootVolumeGiB, sshPublicKeys, adminCidrs, availabilityZone, adminUser, connectVia"],
        ["unknown slot key", (r) => { r.slots.slot1 = { memory: 2048 }; },
            "slots.slot1.memory: unknown key; valid keys of slots.slot1 are index, state, vcpu, memMiB, diskGiB"],
        ["unknown state key", (r) => { r.states = { slot1: { snapshot: ["a"] } }; },
            "states.slot1.snapshot: unknown key; valid keys of states.slot1 are from, snapshots, onRemove, autoSnapshots"],
        ["unknown storage key", (r) => { r.storage = { backnd: "zfs" }; },
            "storage.backnd: unknown key; valid keys of storage are backend, volumeGiB, volumeType, iops, throughputMiBps"],
        ["non-metal Graviton type", (r) => { r.host.instanceType = "m7g.large"; },
            expect.stringMatching(/^host\.instanceType: "m7g\.large" is not bare metal, and KVM needs a \.metal type; valid types are a1\.metal, c6g\.metal, /)],
        ["x86 metal type", (r) => { r.host.instanceType = "m5.metal"; },
            expect.stringMatching(/^host\.instanceType: "m5\.metal" is not a Graviton \(arm64\) type; valid types are a1\.metal/)],
        ["bad AMI id", (r) => { r.host.ami = "ami-xyz"; },
            'host.ami: must be an AMI id like ami-0123456789abcdef0, got "ami-xyz"'],
        ["no SSH keys", (r) => { delete r.host.sshPublicKeys; },
            "host.sshPublicKeys: at least one SSH public key is required (the operators' keys for root and the admin user)"],
        ["malformed SSH key", (r) => { r.host.sshPublicKeys = ["ssh-ed25519 AAAA... you@example"]; },
            'host.sshPublicKeys[0]: must be an OpenSSH public key line "<type> <base64> [comment]" with type ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com, ssh-rsa, got "ssh-ed25519 AAAA... you@..."'],
        ["bad admin CIDR", (r) => { r.host.adminCidrs = ["203.0.113.7"]; },
            'host.adminCidrs[0]: must be an IPv4 or IPv6 CIDR such as 203.0.113.7/32, got "203.0.113.7"'],
        ["CIDR with host bits", (r) => { r.host.adminCidrs = ["203.0.113.7/24"]; },
            'host.adminCidrs[0]: must be an IPv4 or IPv6 CIDR such as 203.0.113.7/32, got "203.0.113.7/24"'],
        ["VPC overlapping the slots", (r) => { r.network = { vpcCidr: "10.0.0.0/16", subnetCidr: "10.0.1.0/24" }; },
            'network.vpcCidr: must not overlap 10.0.0.0/8, where the slots\' 10.N.0.0/24 subnets live, got "10.0.0.0/16"'],
        ["subnet outside the VPC", (r) => { r.network = { subnetCidr: "192.168.1.0/24" }; },
            'network.subnetCidr: must lie inside network.vpcCidr (172.20.0.0/16), got "192.168.1.0/24"'],
        ["bad availability zone", (r) => { r.host.availabilityZone = "us-east-1"; },
            'host.availabilityZone: must be an availability zone name such as us-east-1a, got "us-east-1"'],
        ["unknown backend", (r) => { r.storage = { backend: "ext4" }; },
            'storage.backend: must be one of "zfs", "files", got "ext4"'],
        ["gp3 iops out of range", (r) => { r.storage = { iops: 100 }; },
            'storage.iops: must be an integer from 3000 to 16000, got 100'],
        ["slot name with upper case", (r) => { r.slots.Slot7 = { index: 7 }; },
            "slots.Slot7: slot name must be lowercase letters, digits and '-', starting with a letter and not ending with '-' (so br-Slot7 and vm-Slot7 fit Linux's 15-character interface names)"],
        ["slot name too long for an interface", (r) => { r.slots.verylongslotx = { index: 7 }; },
            "slots.verylongslotx: slot name must be at most 12 characters, got 13 (so br-verylongslotx and vm-verylongslotx fit Linux's 15-character interface names)"],
        ["custom slot without index", (r) => { r.slots.web = {}; },
            "slots.web.index: is required: only slots named slotN (N from 1 to 254) get their index from the name"],
        ["index out of range", (r) => { r.slots.web = { index: 255 }; },
            "slots.web.index: must be an integer from 1 to 254, got 255"],
        ["slotN beyond 254", (r) => { r.slots.slot300 = {}; },
            "slots.slot300: a slot named slotN has index N, and N must be from 1 to 254; rename the slot"],
        ["index contradicting the name", (r) => { r.slots.slot3 = { index: 4 }; },
            "slots.slot3.index: 4 contradicts the name slot3, whose index is 3; remove index or rename the slot"],
        ["duplicate index", (r) => { r.slots.web = { index: 2 }; },
            "slots.web.index: 2 is already used by slot slot2; every slot needs its own index from 1 to 254"],
        ["state attached twice", (r) => { r.slots.slot2 = { state: "slot1" }; },
            'slots.slot2.state: state "slot1" is already attached to slot slot1; a state runs in at most one slot'],
        ["slot running an undeclared state", (r) => { r.slots.slot2 = { state: "web" }; },
            'slots.slot2.state: state "web" is not declared; declare it under states (states.web: {}) or use a slot\'s own name'],
        ["state name with a slash", (r) => { r.states = { "a/b": {} }; },
            "states.a/b: state name must be lowercase letters, digits and '-', starting with a letter and not ending with '-'"],
        ["from an undeclared state", (r) => { r.states = { dev: { from: "prod" } }; },
            'states.dev.from: refers to state "prod", which is not declared under states or as a slot'],
        ["from an undeclared snapshot", (r) => { r.states = { dev: { from: "slot1@golden" } }; },
            'states.dev.from: refers to snapshot "golden" of state "slot1", which is not listed in states.slot1.snapshots'],
        ["from with two @", (r) => { r.states = { dev: { from: "slot1@a@b" } }; },
            'states.dev.from: must be a state name or state@snapshot, got "slot1@a@b"'],
        ["clone cycle", (r) => { r.states = { a: { from: "b" }, b: { from: "a" } }; },
            "states.a.from: states are cloned from each other in a cycle (a -> b -> a); a state cannot be its own source"],
        ["self clone", (r) => { r.states = { a: { from: "a" } }; },
            "states.a.from: states are cloned from each other in a cycle (a -> a); a state cannot be its own source"],
        ["bad onRemove", (r) => { r.states = { a: { onRemove: "delete" } }; },
            'states.a.onRemove: must be one of "retain", "destroy", got "delete"'],
        ["scheduled snapshots on files", (r) => { r.storage = { backend: "files" }; r.states = { slot1: { autoSnapshots: { daily: 7 } } }; },
            'states.slot1.autoSnapshots: needs storage.backend "zfs" (scheduled snapshots are ZFS snapshots taken by sanoid)'],
        ["too much memory for the host", (r) => { r.slots.slot1 = { memMiB: 30000 }; },
            "slots: the slots' memory adds up to 34096 MiB, but a1.metal has 32 GiB and leaves 28672 MiB for slots after the host's share; lower slots.<name>.memMiB or choose a larger host.instanceType (c6g.metal, c6gd.metal, m6g.metal)"],
        ["more vCPUs than the host", (r) => { r.slots.slot1 = { vcpu: 32 }; },
            "slots.slot1.vcpu: 32 is more than the 16 vCPUs of a1.metal"],
        ["no way in", (r) => { r.host.adminCidrs = []; },
            "host.adminCidrs: is empty, so Pulumi has no way to reach the host over SSH: add the CIDR you deploy from (pulumi config set --path 'host.adminCidrs[0]' 203.0.113.7/32), or, once the host has joined the tailnet, set host.connectVia to \"tailscale\""],
        ["tailnet way in without Tailscale", (r) => { r.host.connectVia = "tailscale"; r.tailscale = { enabled: false }; },
            'host.connectVia: is "tailscale" but tailscale.enabled is false; set host.connectVia to "public" (with host.adminCidrs) or enable Tailscale'],
        ["bad tailscale tag", (r) => { r.tailscale = { tags: ["microvm"] }; },
            'tailscale.tags[0]: must look like tag:name (letters, digits, \'-\'), got "microvm"'],
        ["no slots", (r) => { r.slots = {}; },
            "slots: at least one slot is required, for example slots.slot1: {}"],
        ["admin user root", (r) => { r.host.adminUser = "root"; },
            'host.adminUser: must be a Linux user name other than root (lowercase, up to 32 characters), got "root"'],
    ])("%s", (_title, edit, message) => {
        expect(problems(edit)).toEqual([message]);
    });

    test("a typo at the top level of the namespace is reported; other namespaces are the providers'", () => {
        expect(problems(() => undefined, ["microvm-infra:slot", "microvm-infra:host", "aws:region", "tailscale:tailnet"])).toEqual([
            "slot: unknown key in microvm-infra; valid keys are host, network, storage, tailscale, slots, states, sshPrivateKey",
        ]);
    });

    test("all problems are reported at once, each naming its key", () => {
        const found = problems((r) => { r.slots.slot1 = { vcpu: 0 }; r.storage = { backend: "nfs" }; });
        expect(found).toEqual([
            'storage.backend: must be one of "zfs", "files", got "nfs"',
            "slots.slot1.vcpu: must be an integer from 1 to 192, got 0",
        ]);
    });

    test("the thrown error's message lists every problem", () => {
        expect(() => parse((r) => { r.host.instanceType = "t4g.micro"; })).toThrow(ConfigError);
        expect(() => parse((r) => { r.host.instanceType = "t4g.micro"; })).toThrow(/^host\.instanceType: "t4g\.micro" is not bare metal/);
    });
});

describe("names", () => {
    test.each(["", "-a", "a-", "A", "a_b", "a/b", "../x", "a@b", "1a"])("%j is not a name", (name) => {
        expect(nameProblem(name, 63)).toBe("must be lowercase letters, digits and '-', starting with a letter and not ending with '-'");
    });

    test.each(["a", "slot1", "web-2", "a".repeat(12)])("%j is a slot name", (name) => {
        expect(nameProblem(name, 12)).toBeUndefined();
    });
});

describe("ssh public keys", () => {
    test("a key whose data names another type is refused", () => {
        expect(checkSshPublicKey(rsaBlobWithEd25519Name)).toMatch(/does not encode a ssh-rsa key$/);
    });

    test("a well-formed key passes", () => {
        expect(checkSshPublicKey(key)).toBeUndefined();
    });
});
