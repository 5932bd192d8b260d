import { renderTailnetPolicy, tailnetPolicy } from "../../components/tailscale/policy";
import { topology } from "../../infra/topology";
import { defaultSlot } from "../helpers/slots";

const slots = topology([defaultSlot("slot1", 1), defaultSlot("slot2", 2), defaultSlot("web", 17)]).slots;

describe("tailnetPolicy", () => {
    const doc = tailnetPolicy({ tags: ["tag:microvm-host"], slots });

    test("the host's tags are owned by the admins", () => {
        expect(doc.tagOwners).toEqual({ "tag:microvm-host": ["autogroup:admin"] });
    });

    test("exactly the slots' routes are auto-approved, for the host's tags", () => {
        expect(doc.autoApprovers.routes).toEqual({
            "10.1.0.0/24": ["tag:microvm-host"],
            "10.2.0.0/24": ["tag:microvm-host"],
            "10.17.0.0/24": ["tag:microvm-host"],
        });
    });

    test("admins may SSH to the host; one grant per slot lets members reach that slot", () => {
        expect(doc.grants).toEqual([
            { src: ["autogroup:admin"], dst: ["tag:microvm-host"], ip: ["tcp:22"] },
            { src: ["autogroup:member"], dst: ["10.1.0.0/24"], ip: ["*"] },
            { src: ["autogroup:member"], dst: ["10.2.0.0/24"], ip: ["*"] },
            { src: ["autogroup:member"], dst: ["10.17.0.0/24"], ip: ["*"] },
        ]);
    });

    test("routes and grants follow the slot list: a new slot adds one of each", () => {
        const more = tailnetPolicy({
            tags: ["tag:microvm-host"],
            slots: topology([defaultSlot("slot1", 1), defaultSlot("slot6", 6)]).slots,
        });
        expect(Object.keys(more.autoApprovers.routes)).toEqual(["10.1.0.0/24", "10.6.0.0/24"]);
        expect(more.grants.map((g) => g.dst[0])).toEqual(["tag:microvm-host", "10.1.0.0/24", "10.6.0.0/24"]);
    });

    test("custom admins and members, several tags", () => {
        const custom = tailnetPolicy({
            tags: ["tag:a", "tag:b"],
            slots: slots.slice(0, 1),
            admins: ["group:ops"],
            members: ["group:dev"],
        });
        expect(custom.tagOwners).toEqual({ "tag:a": ["group:ops"], "tag:b": ["group:ops"] });
        expect(custom.autoApprovers.routes).toEqual({ "10.1.0.0/24": ["tag:a", "tag:b"] });
        expect(custom.grants[1]).toEqual({ src: ["group:dev"], dst: ["10.1.0.0/24"], ip: ["*"] });
    });

    test.each([
        [{ tags: [] }, "tailnetPolicy: tags must hold at least one tag"],
        [{ tags: ["tag:a"], admins: [] }, "tailnetPolicy: admins must name at least one user, group or autogroup"],
        [{ tags: ["tag:a"], members: [] }, "tailnetPolicy: members must name at least one user, group or autogroup"],
    ])("refuses %j", (args, message) => {
        expect(() => tailnetPolicy({ slots, ...args })).toThrow(message);
    });

    test("renders as JSON the policy file accepts (HuJSON is a superset)", () => {
        expect(JSON.parse(renderTailnetPolicy(doc))).toEqual(doc);
    });
});
