/**
 * The storage drivers through vm-state's commands, on real files in a temporary directory (the
 * files backend; xfs's refusal of a filesystem without reflinks) and against the recording fake
 * zfs. The bats suites run the same on a loop-mounted XFS and a full ext4.
 */
import { execFileSync } from "child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "fs";
import { join } from "path";
import { requireTools } from "../../helpers/tools";
import { Host, makeHost, removeHost, vm } from "./harness";

const gate = requireTools(["mkfs.ext4", "flock", "e2label"], "apt-get install e2fsprogs util-linux");
const MiB = 1024 * 1024;
const img = (h: Host, state: string) => join(h.root, "states", state, "data.img");
const put = (path: string, offset: number, text: string) =>
    execFileSync("dd", [`of=${path}`, "bs=1", `seek=${offset}`, "conv=notrunc", "status=none"], { input: text });
const get = (path: string, offset: number, n: number) =>
    readFileSync(path)
        .subarray(offset, offset + n)
        .toString();

gate.describe("files backend", () => {
    let h: Host;
    beforeEach(() => {
        h = makeHost("files");
    });
    afterEach(() => removeHost(h));

    test("create: a sparse image of the asked size, formatted ext4 with the data label", async () => {
        expect(await vm(h, "create", "web", "--size-gib", "2")).toMatchObject({
            code: 0,
            stderr: "vm-state: created state web (2 GiB, label vmstate)\n",
        });
        const st = statSync(img(h, "web"));
        expect(st.size).toBe(2048 * MiB);
        expect(st.blocks * 512).toBeLessThan(200 * MiB);
        expect(
            execFileSync("e2label", [img(h, "web")])
                .toString()
                .trim(),
        ).toBe("vmstate");
    });

    test("clone, snapshot, restore: byte for byte, sparse, independent; delete leaves the others", async () => {
        await vm(h, "create", "src", "--size-gib", "1");
        put(img(h, "src"), 512 * MiB, "version one");
        expect((await vm(h, "clone", "src", "copy")).code).toBe(0);
        expect((await vm(h, "snapshot", "src", "v1")).code).toBe(0);
        put(img(h, "src"), 512 * MiB, "version two");
        expect((await vm(h, "restore", "src@v1", "old")).code).toBe(0);
        expect(get(img(h, "copy"), 512 * MiB, 11)).toBe("version one");
        expect(get(img(h, "old"), 512 * MiB, 11)).toBe("version one");
        expect(statSync(img(h, "old")).blocks * 512).toBeLessThan(100 * MiB);
        expect((await vm(h, "delete", "src", "--yes")).code).toBe(0);
        expect(existsSync(join(h.root, "states/src"))).toBe(false);
        expect(get(img(h, "old"), 512 * MiB, 11)).toBe("version one");
        const list = JSON.parse((await vm(h, "list", "--json")).stdout);
        expect(list.states.map((s: { name: string }) => s.name)).toEqual(["copy", "old"]);
    });

    test("snapshots oldest first, by time, then name; only names of the rule, only files", async () => {
        await vm(h, "create", "web", "--size-gib", "1");
        await vm(h, "snapshot", "web", "b");
        await vm(h, "snapshot", "web", "a");
        const dir = join(h.root, "states/web/.snapshots");
        execFileSync("touch", ["-d", "2 minutes ago", join(dir, "b.img")]);
        writeFileSync(join(dir, "Bad.img"), "");
        mkdirSync(join(dir, "dir.img"));
        const snaps = JSON.parse((await vm(h, "snapshots", "web", "--json")).stdout).snapshots;
        expect(snaps.map((s: { name: string }) => s.name)).toEqual(["b", "a"]);
        expect(snaps[0].created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    test("what a killed run left (a half-made state, a half-made snapshot) is removed by the next change", async () => {
        await vm(h, "create", "web", "--size-gib", "1");
        mkdirSync(join(h.root, "states/.tmp-half"));
        mkdirSync(join(h.root, "states/web/.snapshots"));
        writeFileSync(join(h.root, "states/web/.snapshots/.tmp-v1.img"), "x", { flag: "w" });
        const r = await vm(h, "create", "other", "--size-gib", "1");
        expect(r.code).toBe(0);
        expect(r.stderr).toContain(`removing ${join(h.root, "states/.tmp-half")} left by an interrupted run`);
        expect(readdirSync(join(h.root, "states")).sort()).toEqual(["other", "web"]);
        expect(readdirSync(join(h.root, "states/web/.snapshots"))).toEqual([]);
    });

    test("xfs refuses a filesystem without reflinks before changing anything", async () => {
        const x = makeHost("xfs");
        try {
            const r = await vm(x, "create", "web", "--size-gib", "1");
            if (r.code === 0) {
                return; // this machine's temporary directory has reflinks; the bats suite checks a real XFS without
            }
            expect(r.code).toBe(1);
            expect(r.stderr).toContain(
                `backend xfs needs reflinks, and the filesystem of ${join(x.root, "states")} has none (`,
            );
            expect(readdirSync(join(x.root, "states"))).toEqual([]);
        } finally {
            removeHost(x);
        }
    });
});

gate.describe("zfs backend, against the recording fake zfs", () => {
    let h: Host;
    const changes = () =>
        readFileSync(h.env.FAKE_ZFS_LOG, "utf8")
            .split("\n")
            .filter((l) => l !== "" && !l.startsWith("zfs list ") && !l.startsWith("zfs get "))
            .map((l) => l.replace(/-\d{14}/g, "-TIME").replace(/\.\d{14}/g, ".TIME"));
    beforeEach(() => {
        h = makeHost("zfs", ["slot1"]);
        mkdirSync(h.env.FAKE_ZFS_DIR);
        mkdirSync(join(h.root, "states"), { recursive: true });
        writeFileSync(join(h.env.FAKE_ZFS_DIR, "db"), "tank\t1600000000\t-\t-\ntank/states\t1600000000\t-\t-\n");
        writeFileSync(h.env.FAKE_ZFS_LOG, "");
    });
    afterEach(() => removeHost(h));

    test("a state clones depend on is hidden, shown by list --all, and collected with its last clone", async () => {
        await vm(h, "create", "base", "--size-gib", "1");
        await vm(h, "clone", "base", "copy");
        writeFileSync(h.env.FAKE_ZFS_LOG, "");
        const del = await vm(h, "delete", "base", "--yes");
        expect(del.code).toBe(0);
        expect(changes()).toEqual([
            "zfs create -o mountpoint=none tank/deleted",
            "zfs rename tank/states/base tank/deleted/base.TIME",
        ]);
        const all = JSON.parse((await vm(h, "list", "--all", "--json")).stdout);
        expect(all.hidden.map((e: { was: string; heldBy: string[] }) => [e.was, e.heldBy])).toEqual([
            ["base", ["copy"]],
        ]);
        writeFileSync(h.env.FAKE_ZFS_LOG, "");
        await vm(h, "delete", "copy", "--yes");
        expect(changes()).toEqual([
            "zfs destroy -r tank/states/copy",
            "zfs destroy tank/deleted/base.TIME@_clone-copy-TIME",
            "zfs destroy tank/deleted/base.TIME",
        ]);
    });

    test("a failed receive leaves no state and no helper snapshot, and says what zfs said", async () => {
        await vm(h, "create", "src", "--size-gib", "1");
        const saved = h.env.FAKE_ZFS_FAIL;
        (h.env as Record<string, string>).FAKE_ZFS_FAIL = "receive";
        const r = await vm(h, "clone", "--independent", "src", "copy");
        (h.env as Record<string, string | undefined>).FAKE_ZFS_FAIL = saved;
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
            "copying state src (zfs send | zfs receive) failed: fake zfs: receive failed (FAKE_ZFS_FAIL)",
        );
        expect(
            execFileSync(
                h.env.VM_STATE_ZFS,
                ["list", "-H", "-o", "name", "-t", "filesystem,snapshot", "-r", "tank/states"],
                { env: { ...process.env, ...h.env } },
            ).toString(),
        ).toBe("tank/states\ntank/states/src\n");
    });
});
