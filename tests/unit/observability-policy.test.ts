/**
 * With tailscale.managePolicy, the generated tailnet policy lets observability through and no more:
 * admins reach the collector's Grafana, Prometheus and Alertmanager; in a fleet, the hosts reach each
 * other's node exporter (the collector scrapes them over the tailnet); off, nothing is added.
 */
import { tailnetPolicy } from "../../components/tailscale/policy";
import { parseStackConfig } from "../../infra/config";
import { observabilityGrants } from "../../infra/observabilityData";
import { validHost } from "../helpers/config";
import { exampleStack, planDoc } from "../helpers/stacks";

const slots = [{ name: "slot1", subnet: "10.1.0.0/24" }];
const fleet = (observability: Record<string, unknown>) =>
    parseStackConfig({
        host: validHost(),
        hosts: { main: {}, big: { instanceType: "m7g.metal", subnetCidr: "172.20.2.0/24" } },
        slots: { slot1: { host: "main" }, slot2: { host: "big" } },
        observability,
    });

describe("observability's grants in the managed tailnet policy", () => {
    test("a fleet: admins to the collector's services, the hosts to each other's node exporter", () => {
        expect(observabilityGrants(fleet({ enabled: true, collector: "big" }))).toEqual({
            adminPorts: [9090, 9093, 3000],
            hostPorts: [9100],
        });
        const doc = tailnetPolicy({
            tags: ["tag:microvm-host"],
            slots,
            observability: { adminPorts: [9090, 9093, 3000], hostPorts: [9100] },
        });
        expect(doc.grants).toEqual([
            { src: ["autogroup:admin"], dst: ["tag:microvm-host"], ip: ["tcp:22"] },
            { src: ["autogroup:admin"], dst: ["tag:microvm-host"], ip: ["tcp:3000", "tcp:9090", "tcp:9093"] },
            { src: ["tag:microvm-host"], dst: ["tag:microvm-host"], ip: ["tcp:9100"] },
            { src: ["autogroup:member"], dst: ["10.1.0.0/24"], ip: ["*"] },
        ]);
    });

    test("one host: no host-to-host grant (the collector scrapes itself); off: no grant at all", () => {
        expect(
            observabilityGrants(
                parseStackConfig({ host: validHost(), slots: { slot1: {} }, observability: { enabled: true } }),
            ),
        ).toEqual({ adminPorts: [9090, 9093, 3000], hostPorts: [] });
        expect(observabilityGrants(fleet({ enabled: false }))).toBeUndefined();
        expect(tailnetPolicy({ tags: ["tag:microvm-host"], slots }).grants).toHaveLength(2);
    });

    test("the planned policy of the example with managePolicy carries them; turned off, it does not", async () => {
        const doc = exampleStack();
        doc.config["microvm-infra:tailscale"].managePolicy = true;
        const on = await planDoc(doc);
        const acl = (p: typeof on) =>
            JSON.parse(p.resources.find((r) => r.type === "tailscale:index/acl:Acl")!.inputs.acl as string);
        expect(acl(on).grants[1]).toEqual({
            src: ["autogroup:admin"],
            dst: ["tag:microvm-host"],
            ip: ["tcp:3000", "tcp:9090", "tcp:9093"],
        });
        doc.config["microvm-infra:observability"].enabled = false;
        const off = await planDoc(doc);
        expect(acl(off).grants.filter((g: { ip: string[] }) => g.ip.includes("tcp:3000"))).toEqual([]);
    });
});
