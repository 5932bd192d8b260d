import fc from "fast-check";
import { slotIdentity, slotMac, topology } from "../../infra/topology";
import { defaultSlot } from "../helpers/slots";

const allIndices = Array.from({ length: 254 }, (_, i) => i + 1);

describe("topology", () => {
    test("slot N gets subnet 10.N.0.0/24, gateway .1, VM .2, its bridge and tap", () => {
        expect(slotIdentity(defaultSlot("slot6", 6))).toEqual({
            ...defaultSlot("slot6", 6),
            subnet: "10.6.0.0/24",
            prefixLength: 24,
            gateway: "10.6.0.1",
            address: "10.6.0.2",
            bridge: "br-slot6",
            tap: "vm-slot6",
            mac: "02:00:0a:06:00:02",
        });
    });

    test("a custom-named slot takes its identity from its index, not its name", () => {
        expect(slotIdentity(defaultSlot("build", 42))).toMatchObject({
            subnet: "10.42.0.0/24",
            address: "10.42.0.2",
            bridge: "br-build",
            mac: "02:00:0a:2a:00:02",
        });
    });

    test("slot10 does not collide with slot1 (the old system's substring bug)", () => {
        const t = topology([defaultSlot("slot1", 1), defaultSlot("slot10", 10)]);
        expect(t.slots.map((s) => s.subnet)).toEqual(["10.1.0.0/24", "10.10.0.0/24"]);
        expect(new Set(t.slots.map((s) => s.mac)).size).toBe(2);
    });

    test("routes are exactly the slots' subnets, in index order", () => {
        const t = topology([defaultSlot("slot3", 3), defaultSlot("web", 200), defaultSlot("slot1", 1)]);
        expect(t.routes).toEqual(["10.1.0.0/24", "10.3.0.0/24", "10.200.0.0/24"]);
        expect(t.slots.map((s) => s.name)).toEqual(["slot1", "slot3", "web"]);
    });

    test.each([0, 255, 1.5, -1])("index %p is refused", (index) => {
        expect(() => slotIdentity(defaultSlot("x", index))).toThrow(
            `slot x: index must be from 1 to 254, got ${index}`,
        );
    });

    test("over all indices 1..254: subnets, addresses, MACs, bridges and taps are unique", () => {
        const t = topology(allIndices.map((i) => defaultSlot(`slot${i}`, i)));
        for (const field of ["subnet", "address", "gateway", "mac", "bridge", "tap"] as const) {
            expect(new Set(t.slots.map((s) => s[field])).size).toBe(254);
        }
        expect(t.routes).toHaveLength(254);
    });

    test("property: every MAC is a locally administered unicast address spelling 10.N.0.2", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 254 }), (index) => {
                const mac = slotMac(index);
                const octets = mac.split(":").map((h) => parseInt(h, 16));
                expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
                expect(octets[0] & 0b11).toBe(0b10); // locally administered, unicast
                expect(octets.slice(2)).toEqual([10, index, 0, 2]);
            }),
        );
    });

    test("property: any set of distinct indices gives distinct, non-overlapping /24s and interface names within 15 characters", () => {
        fc.assert(
            fc.property(
                fc.uniqueArray(fc.integer({ min: 1, max: 254 }), { minLength: 1, maxLength: 60 }),
                (indices) => {
                    const t = topology(indices.map((i) => defaultSlot(`s${"x".repeat(i % 11)}${i}`.slice(0, 12), i)));
                    expect(new Set(t.slots.map((s) => s.subnet)).size).toBe(indices.length);
                    for (const s of t.slots) {
                        expect(s.bridge.length).toBeLessThanOrEqual(15);
                        expect(s.tap.length).toBeLessThanOrEqual(15);
                        expect(s.address.startsWith(s.subnet.replace(/0\/24$/, ""))).toBe(true);
                    }
                },
            ),
        );
    });
});
