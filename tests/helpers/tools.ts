/**
 * The one "skip locally, fail in CI" rule for Jest: tests that need a tool run when it is on
 * PATH; without it they are skipped with a message, except under CI=true, where a failing test
 * says what is missing (`.ci/run` must install everything).
 */
import { existsSync } from "fs";
import { delimiter, join } from "path";

/** Where tools are looked for: PATH, plus Debian's sbin directories (sshd, mkfs.ext4). */
export function findTool(tool: string): string | undefined {
    const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin"].filter((d) => d.startsWith("/"));
    return dirs.map((d) => join(d, tool)).find(existsSync);
}

export interface ToolGate {
    readonly missing: readonly string[];
    /** `test`, or `test.skip` when a tool is missing. */
    readonly test: jest.It;
    /** `describe`, or `describe.skip` when a tool is missing. */
    readonly describe: jest.Describe;
}

/** Declare at the top level of a test file (or a describe block). `hint`: how to install them. */
export function requireTools(tools: readonly string[], hint: string): ToolGate {
    const missing = tools.filter((t) => findTool(t) === undefined);
    if (missing.length > 0) {
        if (process.env.CI === "true") {
            test(`the tools these tests need are installed: ${tools.join(", ")}`, () => {
                throw new Error(`missing under CI=true: ${missing.join(", ")} (${hint})`);
            });
        } else {
            console.warn(`skipped: ${missing.join(", ")} not installed (${hint})`);
        }
    }
    const ok = missing.length === 0;
    return { missing, test: ok ? test : test.skip, describe: ok ? describe : describe.skip };
}
