/**
 * The rules the stack config shares with the host (nixos/rules/rules.json): every case of the
 * shared table tests/fixtures/rules.json through the TypeScript side. tests/bats/nixos/rules.bats
 * runs the same cases through nixos/lib/rules.nix, so both languages give each value one verdict.
 */
import { readFileSync } from "fs";
import { join } from "path";
import {
    domainProblem,
    dnsLabelProblem,
    hostPortProblem,
    parseModuleRef,
    snapshotIdProblem,
    tagProblem,
    userNameProblem,
} from "../../lib/rules";
import { checkSshPublicKey } from "../../lib/sshKey";
import { repoRoot } from "../helpers/paths";

interface Case {
    readonly value: string | number;
    readonly ok: boolean;
    readonly why: string;
}
const table: Record<string, Case[]> = JSON.parse(readFileSync(join(repoRoot, "tests/fixtures/rules.json"), "utf8"));

/** Each rule of the table, as the program applies it: a problem (refused) or undefined (accepted). */
const implementations: Record<string, (v: any) => string | undefined> = {
    dnsLabel: dnsLabelProblem,
    userName: userNameProblem,
    tag: tagProblem,
    snapshotId: snapshotIdProblem,
    domain: domainProblem,
    hostPort: (v: number) => (Number.isInteger(v) && v >= 1 && v <= 65535 ? hostPortProblem(v) : "not a port"),
    moduleRef: (v: string) => (parseModuleRef(v) === undefined ? "not a module reference" : undefined),
    sshPublicKey: checkSshPublicKey,
};

describe("the shared rule table (tests/fixtures/rules.json) through the TypeScript rules", () => {
    test("every rule of the table has an implementation here, and every implementation a table", () => {
        expect(
            Object.keys(table)
                .filter((k) => k !== "description")
                .sort(),
        ).toEqual(Object.keys(implementations).sort());
    });

    const cases = Object.entries(table)
        .filter(([k]) => k !== "description")
        .flatMap(([rule, list]) => list.map((c) => [rule, JSON.stringify(c.value), c.why, c] as const));
    test.each(cases)("%s %s (%s)", (rule, _value, _why, c) => {
        const problem = implementations[rule](c.value);
        expect(problem === undefined ? "accepted" : `refused: ${problem}`).toMatch(c.ok ? /^accepted$/ : /^refused: /);
    });

    test("SSH key layout problems say what to change, never a generic 'must be'", () => {
        const refused = table.sshPublicKey.filter((c) => !c.ok && c.why !== "an unknown type");
        for (const c of refused) {
            expect(checkSshPublicKey(c.value as string)).toMatch(
                /byte-order mark|line break|tab|no-break space|starts or ends with a space|two spaces|printable ASCII/,
            );
        }
    });
});
