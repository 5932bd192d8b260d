/**
 * vm-state's stdout and stderr (stdio.ts), through the build run as a process: every byte reaches
 * a pipe that its starter left non-blocking, and a reader that went away ends it with 141.
 */
import { execFileSync, spawn } from "child_process";
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { buildVmState } from "../../../vm-state/build";

const states = 600; // `list --json` of these is about 100 KiB: more than a pipe holds (64 KiB)

describe("vm-state's stdout", () => {
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let build: string;
    beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), "vm-state-stdio-"));
        build = join(dir, "vm-state.js");
        writeFileSync(build, buildVmState());
        const config = join(dir, "infra.json");
        writeFileSync(
            config,
            JSON.stringify({ version: 1, storage: { backend: "files" }, guest: { dataLabel: "vmstate" }, slots: [] }),
        );
        for (let i = 1; i <= states; i++) {
            mkdirSync(join(dir, "root/states", `s${i}`), { recursive: true });
            writeFileSync(join(dir, "root/states", `s${i}`, "data.img"), "");
        }
        env = { PATH: process.env.PATH, VM_STATE_ROOT: join(dir, "root"), VM_STATE_CONFIG: config };
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test("reaches a non-blocking pipe whole, however slowly it is read", async () => {
        const expected = execFileSync(process.execPath, [build, "list", "--json"], { env }).toString();
        expect(JSON.parse(expected).states).toHaveLength(states);
        // A FIFO opened non-blocking at both ends: the writing end vm-state gets is O_NONBLOCK.
        const fifo = join(dir, "fifo");
        execFileSync("mkfifo", [fifo]);
        const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
        const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        const child = spawn(process.execPath, [build, "list", "--json"], { env, stdio: ["ignore", writer, "pipe"] });
        closeSync(writer);
        const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
        await new Promise((res) => setTimeout(res, 1000)); // vm-state fills the pipe and waits
        const chunks: Buffer[] = [];
        const buf = Buffer.alloc(65536);
        for (;;) {
            let n: number;
            try {
                n = readSync(reader, buf, 0, buf.length, null);
            } catch (err) {
                if ((err as NodeJS.ErrnoException).code !== "EAGAIN") {
                    throw err;
                }
                await new Promise((res) => setTimeout(res, 10));
                continue;
            }
            if (n === 0) {
                break; // every writer closed: vm-state is done
            }
            chunks.push(Buffer.from(buf.subarray(0, n)));
        }
        closeSync(reader);
        expect(await exited).toBe(0);
        expect(Buffer.concat(chunks).toString()).toBe(expected);
    });

    test("ends with 141, quietly, when its reader went away (as SIGPIPE ends a shell command)", async () => {
        const child = spawn(process.execPath, [build, "list", "--json"], { env, stdio: ["ignore", "pipe", "pipe"] });
        child.stdout.destroy();
        const err: Buffer[] = [];
        child.stderr.on("data", (b: Buffer) => err.push(b));
        const code = await new Promise<number | null>((res) => child.on("close", (c) => res(c)));
        expect(code).toBe(141);
        expect(Buffer.concat(err).toString()).toBe("");
    });
});
