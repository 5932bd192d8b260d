/** fleet-serve, the forced command of the fleet's key: what it accepts, refuses and answers. */
import { readFileSync, writeFileSync } from "fs";
import { guidValue, tokenContents } from "../../../vm-state/src/storage/fleetZfs";
import { sshClientAddress } from "../../../vm-state/src/fleet/serve";
import { Host, infraJson, makeHost, removeHost, vm } from "./harness";

const fleet = {
    self: "main",
    hosts: [
        { name: "main", address: "10.0.0.1", backend: "files" },
        { name: "big", address: "10.0.0.2", backend: "files" },
        { name: "zed", address: "10.0.0.3", backend: "zfs" },
    ],
    transferKeyFile: "/k",
    transferPublicKey: "ssh-ed25519 AAAA",
    replicas: [],
};

describe("fleet-serve", () => {
    let host: Host;
    beforeEach(() => {
        host = makeHost("files", ["slot1"]);
        writeFileSync(host.config, infraJson("files", ["slot1"], { fleet }));
    });
    afterEach(() => removeHost(host));

    const serve = (request: string | undefined, client: string | null = "10.0.0.2 50000 22") => {
        const env: Record<string, string> = { ...host.env };
        if (request !== undefined) {
            env.SSH_ORIGINAL_COMMAND = request;
        }
        if (client !== null) {
            env.SSH_CLIENT = client;
        }
        const saved = { ...process.env };
        delete process.env.SSH_ORIGINAL_COMMAND;
        delete process.env.SSH_CLIENT;
        return vm({ ...host, env }, "fleet-serve").finally(() => Object.assign(process.env, saved));
    };
    const log = () => readFileSync(`${host.root}/.vm-state-fleet/fleet.log`, "utf8");

    test("status: this host and its backend; of a state: what the other end needs", async () => {
        expect(JSON.parse((await serve("status")).stdout)).toEqual({ host: "main", backend: "files" });
        await vm(host, "create", "web", "--size-gib", "1");
        const r = await serve("status web");
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({
            state: "web",
            exists: true,
            slot: null,
            running: false,
            moving: null,
            movedTo: null,
            replica: null,
        });
        expect(log()).toMatch(/^\S+Z 10\.0\.0\.2 request: status web$/m);
    });

    test.each([
        ["rm -rf /", "'rm -rf /': a request is an operation and names separated by single spaces"],
        ["status $(id)", "a request is an operation and names separated by single spaces"],
        ["bash -i", "'bash -i': unknown operation"],
        ["status web extra", "expected 1 argument(s), got 2"],
        ["send-snapshot -web big", "invalid state name '-web'"],
        ["send-snapshot web main", "main is not another host of the fleet"],
        ["send-snapshot web big", undefined],
        ["send-resume web big nottoken", "not a resume token"],
        ["receive-replica web big _replica-big-20250101-000000", "not a replica snapshot name for main"],
        ["prune-replica web big yearly=3", "'yearly=3' is not KIND=N"],
        ["keep-replica web big _replica-big-20250101-000000", "not a replica snapshot name for main"],
        ["rsync --server --sender -ISz . /etc/shadow", "not an rsync server request for one plain path"],
        ["rsync --server --sender -ISz . web/{data.img,x}", "not an rsync server request for one plain path"],
        ["rsync --server --sender -ISz . web", "rsync reads <state>/data.img or writes into <state>/<snapshot> only"],
        ["rsync --server --sender -ISz . web/x/y/data.img", "rsync reads <state>/data.img or writes"],
        ["rsync --server -ISz . web/..%2/data.img", "not an rsync server request for one plain path"],
        ["rsync --server -ISz . web/../data.img", "rsync reads <state>/data.img or writes"],
        ["rsync --server -ISz . web/_replica-x", "not a replica snapshot name for main"],
    ])("%s is refused (exit 2) and logged", async (request, message) => {
        const r = await serve(request, request === "send-snapshot web big" ? "10.0.0.9 1 22" : "10.0.0.2 50000 22");
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(message ?? "big's address is 10.0.0.2, this connection comes from 10.0.0.9");
        expect(r.stderr).toContain("; allowed: status send-snapshot send-resume");
        expect(log()).toContain(" refused: ");
    });

    test("not over SSH (no SSH_CLIENT), or no request: refused and logged with '-'", async () => {
        const r = await serve("status", null);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(
            "vm-state: fleet-serve refused 'status': the request did not come over SSH (no $SSH_CLIENT)",
        );
        expect((await serve(undefined)).stderr).toContain(
            "fleet-serve refused no request (this key runs vm-state fleet operations only, no shell)",
        );
        expect(log()).toMatch(/Z - refused: 'status': the request did not come over SSH/);
    });

    test("a host of the other backend family is refused (exit 4): states move between zfs hosts, or between files and xfs", async () => {
        const r = await serve("send-snapshot web zed", "10.0.0.3 1 22");
        expect(r.code).toBe(4);
        expect(r.stderr).toContain(
            "zed uses the zfs backend and main files: states move between zfs hosts, or between files and xfs hosts",
        );
    });

    test("stop-and-release and finish-move need the move's record; a move to another host is named", async () => {
        await vm(host, "create", "web", "--size-gib", "1");
        expect((await serve("stop-and-release web big")).stderr).toContain(
            "no move of state web is in progress here (it starts with send-snapshot)",
        );
        writeFileSync(`${host.root}/.vm-state-fleet/out/web.json`, JSON.stringify({ to: "zed", phase: "copying" }));
        const r = await serve("finish-move web big");
        expect(r.code).toBe(4);
        expect(r.stderr).toContain(
            "state web is being moved to zed; a state moves to one host at a time (cancel that move first: vm-state fleet-cancel web on main)",
        );
    });
});

describe("zfs resume tokens", () => {
    test("toname, toguid and fromguid as zfs send -nv -t prints them", () => {
        const text =
            "resume token contents:\nnvlist version: 0\n\tfromguid = 0x10\n\tobject = 0x1\n\ttoguid = 0xff\n\ttoname = tank/states/web@_fleet-move-2\n";
        expect(tokenContents(text)).toEqual({
            toname: "tank/states/web@_fleet-move-2",
            toguid: "0xff",
            fromguid: "0x10",
        });
        expect(tokenContents("\ttoguid = 12\n\ttoname = a@b\n").fromguid).toBeUndefined();
        expect(guidValue("0xffffffffffffffff")).toBe("18446744073709551615");
        expect(guidValue("42")).toBe("42");
        expect(guidValue("x")).toBeUndefined();
    });

    test("the client's address from SSH_CLIENT", () => {
        expect(sshClientAddress({ SSH_CLIENT: "127.0.0.1 5000 22" })).toBe("127.0.0.1");
        expect(sshClientAddress({})).toBe("");
    });
});
