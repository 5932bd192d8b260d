/** The rsync side of files/xfs transfers (vm-state/src/fleet/rsync.ts): what the client runs, what fleet-serve accepts. */
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { parseRsyncRequest, rshCommand, rsyncFlags, rsyncStat } from "../../../vm-state/src/fleet/rsync";
import { largestImage } from "../../../vm-state/src/storage/fleet";
import { requireTools } from "../../helpers/tools";

const gate = requireTools(["rsync"], "apt-get install rsync");

describe("the rsync client's command line", () => {
    test("one regular file, sparse, in place, a delta, never larger than the largest state, never --trust-sender", () => {
        expect(rsyncFlags).toEqual(expect.arrayContaining(["--sparse", "--inplace", "--partial", "--ignore-times"]));
        expect(rsyncFlags).toContain(`--max-size=${largestImage}`);
        for (const f of rsyncFlags) {
            expect(f).not.toMatch(
                /^-[a-zA-Z]*[rlDogpt]|^--(recursive|links|devices|specials|owner|group|perms|trust-sender)/,
            );
        }
    });

    test("rshCommand quotes what has spaces, refuses a single quote", () => {
        expect(rshCommand(["ssh", "-F", "/etc/x/ssh_config", "-o", "HostName=10.0.0.1"])).toBe(
            "ssh -F /etc/x/ssh_config -o HostName=10.0.0.1",
        );
        expect(rshCommand(["ssh", "-i", "/a b/key"])).toBe("ssh -i '/a b/key'");
        expect(() => rshCommand(["ssh", "-i", "/it's/key"])).toThrow("a single quote");
    });

    gate.test("real rsync splits rshCommand back into the same words", () => {
        const dir = mkdtempSync(join(tmpdir(), "rsh-"));
        const words = ["-o", "UserKnownHostsFile=/a dir/known_hosts", "-i", "/k$x;y/key"];
        const script = `printf "%s\\n" "$@" > ${dir}/argv; exit 1`;
        spawnSync("rsync", ["-e", rshCommand(["sh", "-c", script, "sh", ...words]), "main:web/data.img", dir], {
            encoding: "utf8",
        });
        expect(
            readFileSync(`${dir}/argv`, "utf8")
                .split("\n")
                .slice(0, words.length + 1),
        ).toEqual([...words, "main"]);
    });

    test("rsyncStat reads --stats", () => {
        const stats = "Literal data: 1,048,576 bytes\nTotal bytes sent: 229,431\nTotal bytes received: 1,048,922\n";
        expect(rsyncStat(stats, "Total bytes received")).toBe(1048922);
        expect(rsyncStat(stats, "Total bytes sent")).toBe(229431);
        expect(rsyncStat("", "Total bytes sent")).toBe(0);
    });
});

describe("parseRsyncRequest: what fleet-serve hands to rrsync", () => {
    test.each([
        ["rsync --server --sender -ISze.LsfxCIvu --inplace . web/data.img", "web/data.img"],
        [
            "rsync --server -ISze.LsfxCIvu --max-size=17592186044416 --inplace . web/_replica-big-20250101-000000",
            "web/_replica-big-20250101-000000",
        ],
    ])("%s", (request, path) => {
        expect(parseRsyncRequest(request)?.path).toBe(path);
        expect(parseRsyncRequest(request)?.words.at(-1)).toBe(".");
    });

    test.each([
        "rsync --server --sender -ISz . /etc/shadow",
        "rsync --server --sender -ISz . web/data.img db/data.img",
        "rsync --server --sender -ISz . 'web/data.img'",
        "rsync --server --sender -ISz . web/{data.img,x}",
        "rsync --server --sender -ISz . web/*",
        "rsync --server --sender -ISz . web/data.img;id",
        "rsync --server --sender -ISz web/data.img",
        "rsync --sender --server -ISz . web/data.img",
        "rsync --server --sender  -ISz . web/data.img",
        "rsync --server --sender --files-from=/etc/x . web/data.img",
        "rsync --server --sender -ISz . web/data.img\nid",
    ])("refused: %j", (request) => {
        expect(parseRsyncRequest(request)).toBeUndefined();
    });
});
