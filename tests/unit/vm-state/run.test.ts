/** A run's failure actions, signals and test phases; external commands from argument arrays. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { readEnv } from "../../../vm-state/src/env";
import { Interrupted } from "../../../vm-state/src/errors";
import { Proc, which } from "../../../vm-state/src/proc";
import { Run } from "../../../vm-state/src/run";

const quiet = (env: Record<string, string> = {}) =>
    new Run(
        readEnv(env),
        () => undefined,
        () => undefined,
        false,
    );

describe("Run", () => {
    test("failure actions run newest first, dismissed ones not, each failure logged and the rest still run", async () => {
        const log: string[] = [];
        const run = new Run(readEnv({}), (t) => log.push(t.trim()));
        const order: string[] = [];
        run.onFailure(() => {
            order.push("first");
        });
        run.onFailure(() => {
            throw new Error("boom");
        });
        run.onFailure(() => {
            order.push("dismissed");
        }).dismiss();
        run.onFailure(async () => {
            order.push("last");
        });
        await run.fail();
        expect(order).toEqual(["last", "first"]);
        expect(log).toEqual(["vm-state: while undoing: Error: boom"]);
    });

    test("a signal stops a wait and is what the run fails with", async () => {
        const run = quiet();
        const waiting = run.sleep(60_000);
        run.interrupt("SIGTERM", 143);
        await expect(waiting).rejects.toBeInstanceOf(Interrupted);
        expect(run.interrupted).toMatchObject({ code: 143 });
        expect(() => run.throwIfInterrupted()).toThrow(Interrupted);
    });

    test("the test phase hook writes its file and waits for the resume file", async () => {
        const dir = mkdtempSync(join(tmpdir(), "vm-state-run-"));
        try {
            const run = quiet({
                VM_STATE_TEST_PHASE: "stopped",
                VM_STATE_TEST_PHASE_FILE: join(dir, "at"),
                VM_STATE_TEST_PHASE_RESUME: join(dir, "go"),
            });
            await run.phase("linked"); // another phase: no wait
            expect(existsSync(join(dir, "at"))).toBe(false);
            let done = false;
            const waiting = run.phase("stopped").then(() => (done = true));
            await new Promise((r) => setTimeout(r, 150));
            expect(readFileSync(join(dir, "at"), "utf8")).toBe(`${process.pid}\n`);
            expect(done).toBe(false);
            writeFileSync(join(dir, "go"), "");
            await waiting;
            expect(done).toBe(true);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("Proc", () => {
    const proc = new Proc(quiet());

    test("exit status, stdout, stderr; a command that is not there is 127, not an exception", async () => {
        expect(await proc.exec("sh", ["-c", "echo out; echo err >&2; exit 3"])).toEqual({
            code: 3,
            stdout: "out\n",
            stderr: "err\n",
        });
        expect(await proc.exec("/nonexistent/cmd", [])).toMatchObject({
            code: 127,
            stderr: expect.stringContaining("cannot run /nonexistent/cmd"),
        });
        expect(await proc.exec("cat", [], { input: "in" })).toMatchObject({ code: 0, stdout: "in" });
    });

    test("arguments are never a shell's: metacharacters reach the command as they are", async () => {
        expect((await proc.exec("printf", ["%s|", "a b", "$(id)", ";rm -rf x", "'"])).stdout).toBe(
            "a b|$(id)|;rm -rf x|'|",
        );
    });

    test("attempt fails with WHAT and the last line the command said, sanitised", async () => {
        await expect(
            proc.attempt("copying state web", "sh", [
                "-c",
                'echo noise >&2; printf "cp: x\\033[2J: No space left on device\\n" >&2; exit 1',
            ]),
        ).rejects.toMatchObject({
            code: 1,
            message: "copying state web failed: cp: x: No space left on device",
        });
        await expect(proc.attempt("nothing said", "false", [])).rejects.toThrow("nothing said failed: exit status 1");
    });

    test("a | b: when b fails, a ends (SIGPIPE) and the failure is reported", async () => {
        await expect(
            proc.pipe(
                "streaming",
                ["yes", []],
                ["sh", ["-c", "head -c 10 >/dev/null; echo 'receive: refused' >&2; exit 1"]],
            ),
        ).rejects.toThrow("streaming failed: receive: refused");
        await expect(proc.pipe("ok", ["printf", ["abc"]], ["grep", ["-q", "b"]])).resolves.toBeUndefined();
    });

    test("a signal to vm-state stops the command it waits for", async () => {
        const run = quiet();
        const p = new Proc(run).exec("sleep", ["60"]);
        run.interrupt("SIGINT", 130);
        await expect(p).rejects.toBeInstanceOf(Interrupted);
    });

    test("which finds what command -v finds", () => {
        expect(which("sh", "/nonexistent:/bin:/usr/bin")).toMatch(/\/sh$/);
        expect(which("/nonexistent/journalctl", "/bin")).toBeUndefined();
        expect(which("no-such-command-here", "/bin:/usr/bin")).toBeUndefined();
    });
});
