/**
 * Optional (tailscale.managePolicy): the tailnet policy file generated from the slot list, so the
 * host's tags, the routes it may approve for itself and who may reach which slot cannot drift from
 * the slots. Off by default because Tailscale's policy is one document: the `Acl` resource replaces
 * the WHOLE policy of the tailnet, including rules that have nothing to do with this stack.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";

export interface PolicySlot {
    readonly name: string;
    /** The slot's subnet, 10.N.0.0/24. */
    readonly subnet: string;
    /**
     * TCP ports the slot publishes to the tailnet: when any, members reach only these (admins still
     * reach everything); when none, members reach the whole slot. Defaults to none.
     */
    readonly tailnetPorts?: readonly number[];
}

export interface TailnetPolicyArgs {
    /** The host's tags (tailscale.tags): owned by `admins`, auto-approved for the slots' routes. */
    readonly tags: readonly string[];
    /** The slots, in slot order: one route and one access grant each. */
    readonly slots: readonly PolicySlot[];
    /** Who owns the tags and may SSH to the host over the tailnet. Defaults to `["autogroup:admin"]`. */
    readonly admins?: readonly string[];
    /** Who may reach the slots' VMs. Defaults to `["autogroup:member"]`. */
    readonly members?: readonly string[];
    /**
     * TCP ports the hosts open to the tailnet for observability: `admins` reach `adminPorts`
     * (Grafana, Prometheus, Alertmanager), and the hosts reach each other's `hostPorts` (the
     * collector scraping the node exporters of a fleet). Defaults to none.
     */
    readonly observability?: { readonly adminPorts: readonly number[]; readonly hostPorts: readonly number[] };
}

/** The policy document (JSON, a subset of HuJSON). Pure; exported for testing. */
export interface TailnetPolicyDocument {
    readonly tagOwners: Record<string, string[]>;
    readonly autoApprovers: { readonly routes: Record<string, string[]> };
    readonly grants: { readonly src: string[]; readonly dst: string[]; readonly ip: string[] }[];
}

export const defaultAdmins = ["autogroup:admin"];
export const defaultMembers = ["autogroup:member"];

/**
 * The whole tailnet policy for this stack: the host's tags owned by the admins; every slot's route
 * auto-approved for the host's tags (so a new slot works even before Pulumi approves it, and a
 * re-joined host gets its routes back); admins may SSH to the host; one grant per slot lets
 * members reach that slot's subnet, or only the ports it publishes to the tailnet when it
 * publishes any (admins then keep a grant to the whole slot); with observability, admins reach its
 * ports on the hosts and the hosts reach each other's node exporter. Nothing else is allowed: slots
 * do not reach each other or the tailnet (the host's firewall enforces that as well).
 */
export function tailnetPolicy(args: TailnetPolicyArgs): TailnetPolicyDocument {
    if (args.tags.length === 0) {
        throw new Error("tailnetPolicy: tags must hold at least one tag: the host joins tagged");
    }
    const admins = [...(args.admins ?? defaultAdmins)];
    const members = [...(args.members ?? defaultMembers)];
    for (const [what, list] of [
        ["admins", admins],
        ["members", members],
    ] as const) {
        if (list.length === 0) {
            throw new Error(`tailnetPolicy: ${what} must name at least one user, group or autogroup`);
        }
    }
    const tags = [...args.tags];
    const tcp = (ports: readonly number[]) => [...new Set(ports)].sort((a, b) => a - b).map((p) => `tcp:${p}`);
    const observability = args.observability;
    const observabilityGrants = !observability
        ? []
        : [
              ...(observability.adminPorts.length > 0
                  ? [{ src: [...admins], dst: [...tags], ip: tcp(observability.adminPorts) }]
                  : []),
              ...(observability.hostPorts.length > 0
                  ? [{ src: [...tags], dst: [...tags], ip: tcp(observability.hostPorts) }]
                  : []),
          ];
    return {
        tagOwners: Object.fromEntries(tags.map((t) => [t, [...admins]])),
        autoApprovers: { routes: Object.fromEntries(args.slots.map((s) => [s.subnet, [...tags]])) },
        grants: [
            { src: [...admins], dst: [...tags], ip: ["tcp:22"] },
            ...observabilityGrants,
            ...args.slots.flatMap((s) => {
                const ports = [...new Set(s.tailnetPorts ?? [])].sort((a, b) => a - b);
                return ports.length === 0
                    ? [{ src: [...members], dst: [s.subnet], ip: ["*"] }]
                    : [
                          { src: [...members], dst: [s.subnet], ip: ports.map((p) => `tcp:${p}`) },
                          { src: [...admins], dst: [s.subnet], ip: ["*"] },
                      ];
            }),
        ],
    };
}

export function renderTailnetPolicy(doc: TailnetPolicyDocument): string {
    return `${JSON.stringify(doc, null, 2)}\n`;
}

export class TailnetPolicy extends pulumi.ComponentResource {
    /** The policy text applied to the tailnet. */
    readonly policy: string;

    constructor(name: string, args: TailnetPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:tailscale:TailnetPolicy", name, {}, opts);
        this.policy = renderTailnetPolicy(tailnetPolicy(args));
        new tailscale.Acl(
            `${name}-policy`,
            {
                acl: this.policy,
                // Opting in (managePolicy) is the consent to replace the policy that is there.
                overwriteExistingContent: true,
                // Turning managePolicy off leaves the last policy in place instead of resetting the tailnet.
                resetAclOnDestroy: false,
            },
            { parent: this },
        );
        this.registerOutputs({ policy: this.policy });
    }
}
