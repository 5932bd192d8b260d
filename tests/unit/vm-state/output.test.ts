/** Tables for people from the same records as --json. */
import {
    renderTable,
    renderTables,
    slotsTable,
    statesTable,
    systemCell,
    useColour,
} from "../../../vm-state/src/output/table";

const sys = (hash: string) => `/nix/store/${hash}-nixos-system-slot-26.05`;

describe("tables", () => {
    test("columns aligned, two spaces apart, the last not padded", () => {
        const lines = renderTable(
            slotsTable([
                { name: "slot1", state: "web", running: true, unit: "microvm@slot1.service", system: null },
                { name: "slot10", state: null, running: false, unit: "microvm@slot10.service", system: null },
            ]),
            false,
        );
        expect(lines).toEqual([
            "SLOT    STATE  RUNNING  SYSTEM",
            "slot1   web    running  -",
            "slot10  -      stopped  -",
        ]);
    });

    test("colour: the header bold, running green, stopped and - dim; only on a terminal without NO_COLOR", () => {
        const [header, row] = renderTable(
            slotsTable([{ name: "s", state: null, running: true, unit: "u", system: null }]),
            true,
        );
        expect(header).toBe("\u001b[1mSLOT  STATE  RUNNING  SYSTEM\u001b[0m");
        expect(row).toBe("s     \u001b[2m-    \u001b[0m  \u001b[32mrunning\u001b[0m  \u001b[2m-\u001b[0m");
        expect(useColour(true, false)).toBe(true);
        expect(useColour(false, false)).toBe(false);
        expect(useColour(true, true)).toBe(false);
    });

    test("states: sizes for people, snapshot count, the latest", () => {
        const out = renderTables(
            [
                statesTable([
                    {
                        name: "web",
                        slot: "slot2",
                        sizeBytes: 1073741824,
                        allocatedBytes: 34230272,
                        snapshots: [
                            { name: "v1", created: "x" },
                            { name: "v2", created: "y" },
                        ],
                    },
                ]),
            ],
            false,
        );
        expect(out).toBe(
            "STATE  SLOT   SIZE  ALLOCATED  SNAPSHOTS  LATEST\nweb    slot2  1G    32.6M      2          v2\n",
        );
    });

    test.each([
        [null, "-"],
        [{ declared: sys("9f8e7d6c5b"), booted: null, upToDate: null }, "9f8e7d6 (not running)"],
        [{ declared: sys("9f8e7d6c5b"), booted: sys("9f8e7d6c5b"), upToDate: true }, "9f8e7d6 (current)"],
        [
            { declared: sys("9f8e7d6c5b"), booted: sys("1a2b3c4d5e"), upToDate: false },
            "1a2b3c4 (outdated: restart to apply 9f8e7d6)",
        ],
        [
            { declared: sys("1a2b3c4d5e"), booted: sys("1a2b3c4d5e"), upToDate: false },
            "1a2b3c4 (outdated: restart to apply its new VM settings)",
        ],
    ])("the SYSTEM cell of %j is %s", (system, cell) => {
        expect(systemCell(system)).toBe(cell);
    });
});
