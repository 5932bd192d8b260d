/**
 * What the acceptance run expects of the deployed host, from the stack config alone, computed by
 * the program `pulumi up` runs (under the mock runtime, as `npm run plan` does): each slot's
 * network, egress policy and state, and each state with its snapshots. acceptance/host/verify.sh
 * compares the host against it.
 *   tsx acceptance/expected.ts STACK_FILE STACK BUNDLE_HASH   JSON on stdout
 */
import { planStack, Plan } from "../tools/plan/run";
import { infraJsonOf } from "../tools/render-fixtures";

/** Where the host's checks reach out to: a site for "the internet", one no allowlist names, an address. */
export const probes = { internet: "aws.amazon.com", denied: "example.org", rawIp: "1.1.1.1" } as const;

export interface Expected {
    readonly bundleHash: string;
    readonly slots: readonly {
        readonly name: string;
        readonly state: string;
        readonly address: string;
        readonly gateway: string;
        readonly prefixLength: number;
        readonly bridge: string;
        readonly egress: { readonly policy: string; readonly domains?: readonly string[] };
    }[];
    readonly states: readonly { readonly name: string; readonly snapshots: readonly string[] }[];
    readonly probes: typeof probes;
}

export function expectedOf(plan: Plan, bundleHash: string): Expected {
    if (!/^[0-9a-f]{64}$/.test(bundleHash)) {
        throw new RangeError(
            `the bundle hash must be 64 hex digits (pulumi stack output bundleHash), got ${bundleHash.length} characters`,
        );
    }
    const infra = JSON.parse(infraJsonOf(plan)) as {
        slots: { name: string; egress?: { policy: string; domains?: string[] } }[];
    };
    const egress = new Map(infra.slots.map((s) => [s.name, s.egress ?? { policy: "internet" }]));
    const snapshots = new Map(plan.config.states.map((s) => [s.name, s.snapshots]));
    const states = plan.resources
        .filter((r) => r.type === "microvm-infra:state:VmState")
        .map((r) => r.name)
        .sort();
    return {
        bundleHash,
        slots: plan.topology.slots.map((s) => ({
            name: s.name,
            state: s.state,
            address: s.address,
            gateway: s.gateway,
            prefixLength: s.prefixLength,
            bridge: s.bridge,
            egress: egress.get(s.name)!,
        })),
        states: states.map((name) => ({ name, snapshots: [...(snapshots.get(name) ?? [])] })),
        probes,
    };
}

if (require.main === module) {
    const [stackFile, stack, bundleHash] = process.argv.slice(2);
    if (bundleHash === undefined) {
        process.stderr.write("Usage: expected.ts STACK_FILE STACK BUNDLE_HASH\n");
        process.exitCode = 2;
    } else {
        planStack(stackFile, stack).then(
            (plan) => {
                process.stdout.write(`${JSON.stringify(expectedOf(plan, bundleHash))}\n`);
            },
            (err) => {
                process.stderr.write(`expected: ${err instanceof Error ? err.message : String(err)}\n`);
                process.exitCode = 1;
            },
        );
    }
}
