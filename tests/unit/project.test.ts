/**
 * The project files as the tools that read them see them: Pulumi.yaml as the engine reads its
 * declared config, package.json/.npmrc as npm enforces the Node version.
 */
import { spawnSync } from "child_process";
import { readdirSync, readFileSync } from "fs";
import { join } from "path";
import { parse } from "yaml";
import { repoRoot } from "../helpers/stacks";

const read = (path: string) => readFileSync(join(repoRoot, path), "utf8");

describe("Pulumi.yaml, read the way the engine reads it", () => {
    const project = parse(read("Pulumi.yaml"));
    const declared: Record<string, { type?: string; default?: unknown; secret?: boolean }> = project.config ?? {};
    const stackFiles = [
        "Pulumi.dev.yaml",
        ...readdirSync(join(repoRoot, "tests/fixtures/stacks")).map((f) => `tests/fixtures/stacks/${f}`),
    ];

    // The engine: a declared key without a default is required in every stack ("missing
    // configuration value"), a secret key may not have a default, and the types it knows are these.
    test("every declared key is well-formed for the engine", () => {
        for (const [key, spec] of Object.entries(declared)) {
            expect({
                key,
                type: ["string", "integer", "boolean", "array", "object", undefined].includes(spec.type),
            }).toEqual({ key, type: true });
            expect({ key, secretWithDefault: Boolean(spec.secret && spec.default !== undefined) }).toEqual({
                key,
                secretWithDefault: false,
            });
        }
    });

    test.each(stackFiles)("%s sets every declared key that has no default", (file) => {
        const config = parse(read(file)).config ?? {};
        const required = Object.entries(declared)
            .filter(([, spec]) => spec.default === undefined)
            .map(([k]) => k);
        const missing = required.filter((k) => config[k.includes(":") ? k : `${project.name}:${k}`] === undefined);
        expect(missing).toEqual([]);
    });

    test("no optional key is declared without a default: sshPrivateKey stays optional (SSH agent)", () => {
        expect(declared.sshPrivateKey).toBeUndefined();
        expect(parse(read("Pulumi.dev.yaml")).config["microvm-infra:sshPrivateKey"]).toBeUndefined();
    });
});

describe("the Node version", () => {
    const checkWith = (version: string) =>
        spawnSync(
            process.execPath,
            [
                "-e",
                `Object.defineProperty(process, "versions", { value: { ...process.versions, node: ${JSON.stringify(version)} } }); require(${JSON.stringify(join(repoRoot, "tools/check-node.js"))})`,
            ],
            { encoding: "utf8" },
        );

    test("a Node other than 22 is refused at once, with how to get Node 22", () => {
        const r = checkWith("20.20.2");
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("microvm-infra needs Node.js 22 LTS; this is Node.js 20.20.2");
        expect(r.stderr).toContain("nvm install 22");
        expect(r.stderr).toContain("npm install --prefix /opt/node22 node@22");
        expect(checkWith("23.1.0").status).toBe(1);
        expect(checkWith("22.11.0").status).toBe(0);
    });

    test("npm refuses to install on another Node (engine-strict), and every entry point checks first", () => {
        const pkg = JSON.parse(read("package.json"));
        expect(pkg.engines.node).toBe(">=22 <23");
        expect(read(".npmrc")).toMatch(/^engine-strict=true$/m);
        expect(read(".nvmrc").trim()).toBe("22");
        for (const script of ["setup", "preinstall", "plan", "bench"]) {
            expect(pkg.scripts[script]).toMatch(/^node tools\/check-node\.js( &&|$)/);
        }
        // npm test stops before its first stage (tests/bats/tools/node-check.bats runs it on a wrong Node).
        const runner = read("tools/test.sh");
        expect(runner.indexOf("if ! node tools/check-node.js; then")).toBeGreaterThan(0);
        expect(runner.indexOf("if ! node tools/check-node.js; then")).toBeLessThan(runner.indexOf("\nstage "));
    });
});

describe("the licence", () => {
    test("LICENSE holds the licence package.json declares", () => {
        const declared = JSON.parse(read("package.json")).license;
        expect(declared).toBe("MIT");
        expect(read("LICENSE").split("\n")[0]).toBe("MIT License");
    });
});
