/** vm-state's names: the shared table (tests/fixtures/names.json) through vm-state's own check and messages. */
import { readFileSync } from "fs";
import { join } from "path";
import { checkName, nameError, splitSnapshotRef } from "../../../vm-state/src/names";
import { repo } from "./harness";

interface Case {
    readonly name: string;
    readonly slot: boolean;
    readonly state: boolean;
    readonly snapshot: boolean;
}
const table = JSON.parse(readFileSync(join(repo, "tests/fixtures/names.json"), "utf8")) as {
    cases: Case[];
    maxLength: Record<string, number>;
};

describe("names", () => {
    test.each(
        table.cases.flatMap((c) =>
            (["slot", "state", "snapshot"] as const).map((kind) => [kind, c.name, c[kind]] as const),
        ),
    )("%s %j valid: %s", (kind, name, valid) => {
        expect(nameError(kind, name, "/r/states") === undefined).toBe(valid);
    });

    test("the message names the kind, the rule and the limit of the table; a usage error (exit 2)", () => {
        expect(nameError("state", "Web", "/r/states")).toBe(
            `invalid state name 'Web': use lowercase letters, digits and '-', starting with a letter, not ending with '-', at most ${table.maxLength.state} characters`,
        );
        expect(nameError("slot", "a\nb", "/r/states")).toContain("invalid slot name 'a?b'");
        expect(nameError("slot", "states", "/r/states")).toBe(
            "invalid slot name 'states': reserved (vm-state keeps the states in /r/states)",
        );
        expect(() => checkName("snapshot", "", "/r/states")).toThrow(expect.objectContaining({ code: 2 }));
    });

    test("STATE@SNAPSHOT splits at the first @ and checks both", () => {
        expect(splitSnapshotRef("web@v1", "/r/states")).toEqual({ state: "web", snapshot: "v1" });
        expect(() => splitSnapshotRef("web", "/r/states")).toThrow("expected STATE@SNAPSHOT, got 'web'");
        expect(() => splitSnapshotRef("web@v@1", "/r/states")).toThrow("invalid snapshot name 'v@1'");
    });
});
