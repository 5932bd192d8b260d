import { expectCount, parseArgs } from "../../../vm-state/src/args";
import { UsageError } from "../../../vm-state/src/errors";

describe("parseArgs", () => {
    const spec = { flags: ["--json", "-f"], values: ["--size-gib", "-n"] };

    test("options before, between and after the arguments; both value forms", () => {
        const a = parseArgs(spec, ["--json", "web", "--size-gib", "2", "x"]);
        expect([...a.flags]).toEqual(["--json"]);
        expect(a.values.get("--size-gib")).toBe("2");
        expect(a.positional).toEqual(["web", "x"]);
        expect(parseArgs(spec, ["--size-gib=7", "a"]).values.get("--size-gib")).toBe("7");
    });

    test("-- ends the options; - is an argument", () => {
        expect(parseArgs(spec, ["-", "--", "-x", "--json"]).positional).toEqual(["-", "-x", "--json"]);
    });

    test.each([
        [["--force"], "unknown option '--force'"],
        [["-x"], "unknown option '-x'"],
        [["--json=1"], "unknown option '--json'"],
        [["-n=3"], "unknown option '-n=3'"],
        [["--size-gib"], "option --size-gib needs a value"],
        [["--size-gib="], "option --size-gib needs a value"],
        [["--bad\u001b[31m=1"], "unknown option '--bad?[31m'"],
    ])("%j is a usage error: %s", (argv, message) => {
        expect(() => parseArgs(spec, argv)).toThrow(new UsageError(message));
    });

    test("a wrong number of arguments says how many", () => {
        expect(() => expectCount(parseArgs(spec, ["a"]), 2)).toThrow("expected 2 argument(s), got 1");
        expect(() => expectCount(parseArgs(spec, ["a", "b"]), 2)).not.toThrow();
    });
});
