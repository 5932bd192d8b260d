/**
 * What a reviewer reads in `pulumi preview --diff`: small, meaningful inputs. The bundle travels as
 * a file asset (the state keeps its path and hash), and the switch's triggers carry each file's
 * hash and the deployment data as structured data, so "add slot6" reads as slot6 added.
 */
import { createHash } from "crypto";
import { readFileSync } from "fs";
import { collectBundle, tarBundle } from "../../components/deploy/bundle";
import { examplePlan, one, planEdit } from "../helpers/stacks";

const sizeOf = (v: unknown): number => Buffer.byteLength(JSON.stringify(v) ?? "");

describe("the inputs a preview shows", () => {
    test("no input of any resource is a blob: every one is under 16 KB", async () => {
        const plan = await examplePlan();
        const big = plan.resources.flatMap((r) => Object.entries(r.inputs).filter(([, v]) => sizeOf(v) > 16 * 1024).map(([k, v]) => `${r.name}.${k}: ${sizeOf(v)} bytes`));
        expect(big).toEqual([]);
    });

    test("the bundle upload holds a path and a hash, and the file there is exactly the bundle's tar", async () => {
        const plan = await examplePlan();
        const upload = one(plan, "command:remote:CopyToRemote", "microvm-bundle");
        const source = upload.inputs.source as { fileAsset: string; sha256: string };
        expect(Object.keys(source).sort()).toEqual(["fileAsset", "sha256"]);
        expect(source.fileAsset).toMatch(/^\.microvm-infra\/bundles\/[0-9a-f]{64}\.tar$/);
        const tar = tarBundle(collectBundle(plan.files["nixos/infra.json"]));
        expect(readFileSync(source.fileAsset).equals(tar)).toBe(true);
        expect(source.sha256).toBe(createHash("sha256").update(tar).digest("hex"));
    });

    test("adding slot6: the switch's diff names infra.json's new slot and the changed file, no blob", async () => {
        const { after, diff } = await planEdit((d) => { d.config["microvm-infra:slots"].slot6 = {}; });
        const sw = diff.replace.find((c) => c.urn.endsWith("::microvm-switch"))!;
        expect(sw.paths).toEqual(expect.arrayContaining(["triggers[0]", "triggers[2].nixos/infra.json", "triggers[3].slots[5]", "triggers[3].tailscale.advertiseRoutes[5]"]));
        expect(sw.paths.filter((p) => p.startsWith("triggers[2]"))).toEqual(["triggers[2].nixos/infra.json"]);
        expect(sw.paths.some((p) => p.startsWith("stdin"))).toBe(false);
        const infra = (one(after, "command:remote:Command", "microvm-switch").inputs.triggers as unknown[])[3] as { slots: { name: string; address: string }[] };
        expect(infra.slots[5]).toMatchObject({ name: "slot6", address: "10.6.0.2" });
        const upload = diff.replace.find((c) => c.urn.endsWith("::microvm-bundle"))!;
        expect(upload.paths).toEqual(expect.arrayContaining(["source.fileAsset", "source.sha256"]));
    });
});
