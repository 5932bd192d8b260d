/**
 * What a change does to the hosts' machines and state volumes, for the review: whether each host is
 * replaced or stopped and started in place, how long its VMs are down and why, how its state volume
 * changes, and what AWS or the way Pulumi reaches the host will refuse. Pure, from two plans and
 * their diff; the facts it states come from the constraint table (lib/constraints).
 */
import { constraint, rule } from "../../lib/constraints";
import { primaryHost } from "../../infra/config";
import { hostResourceName } from "../../infra/program";
import { PlanDiff } from "./diff";
import { Plan } from "./run";

export interface HostDowntime {
    /** Why every slot of a host restarts, by host name (absent: no restart from the machine). */
    readonly restarts: Readonly<Record<string, string>>;
    /** Sentences for the review's host section, one fact each. */
    readonly notes: readonly string[];
}

const instanceType = "aws:ec2/instance:Instance";
const volumeType = "aws:ebs/volume:Volume";

/** The hosts of a plan with their instance's and volume's URNs. */
function hostsOf(plan: Plan) {
    return plan.config.hosts.map((h) => {
        const name = hostResourceName(h.name);
        const find = (type: string, suffix: string) =>
            plan.resources.find((r) => r.type === type && r.name === `${name}-${suffix}`);
        return {
            host: h,
            label: plan.config.hosts.length > 1 ? `host ${h.name}` : "the host",
            instance: find(instanceType, "host"),
            volume: find(volumeType, "state"),
        };
    });
}

export function hostDowntime(old: Plan, next: Plan, diff: PlanDiff): HostDowntime {
    const restarts: Record<string, string> = {};
    const notes: string[] = [];
    const oldResources = new Map(old.resources.map((r) => [r.urn, r]));
    for (const { host, label, instance, volume } of hostsOf(next)) {
        const replaced = instance && diff.replace.find((c) => c.urn === instance.urn);
        const updated = instance && diff.update.find((c) => c.urn === instance.urn);
        const key = next.config.hosts.length > 1 || host.name !== primaryHost ? `hosts.${host.name}` : "host";
        if (replaced) {
            restarts[host.name] = `${label} is replaced`;
            notes.push(
                `Downtime (${label}): the new instance boots while the old one keeps running its VMs (5 to 15 minutes on metal), but the Elastic IP ` +
                    "moves to the new instance as soon as it is running, and from then the old host and its VMs have no public address (no internet access, " +
                    "no Tailscale). Once the new host answers, the old instance is stopped (its state volume is detached from it) and every VM is down until the new host's first switch has " +
                    "finished and its slots have started (a first build downloads the whole system; Pulumi allows it 80 minutes). Not measured here.",
            );
            if (host.connectVia === "tailscale") {
                notes.push(
                    `**${key}.connectVia is "tailscale", but a new machine has not joined the tailnet: for this update set it to "public" ` +
                        "(with your address in host.adminCidrs), or `pulumi up` stops once the new instance exists, before the old host is touched.**",
                );
            }
        } else if (instance && updated?.paths.includes("instanceType")) {
            const before = oldResources.get(instance.urn)?.inputs.instanceType;
            restarts[host.name] = `${label} stops and starts as a ${String(instance.inputs.instanceType)}`;
            notes.push(
                `Downtime (${label}): the instance is stopped, changed from ${String(before)} to ${String(instance.inputs.instanceType)} and started ` +
                    "in place (the same root disk, host key, address and state volume; nothing is rebuilt); every VM is down from the stop until the host " +
                    "has booted and started its slots: commonly 10 to 20 minutes on metal (the provider waits up to 10 minutes for each of the stop and the " +
                    "start). Not measured here.",
            );
        }
        const volumeChange = volume && diff.update.find((c) => c.urn === volume.urn);
        const modified = volumeChange?.paths.filter((p) => ["size", "iops", "throughput", "type"].includes(p)) ?? [];
        if (volume && modified.length > 0) {
            const before = oldResources.get(volume.urn)?.inputs ?? {};
            const sizeKey = `${key === "host" ? "" : `${key}.`}storage.volumeGiB`;
            const [from, to] = [Number(before.size), Number(volume.inputs.size)];
            if (modified.includes("size") && to < from) {
                notes.push(
                    `**${sizeKey} goes from ${from} to ${to} GiB: an EBS volume cannot shrink ` +
                        `(${rule(constraint(volumeType, "size"), "growOnly").says}), so \`pulumi preview\` stops with an error naming ${sizeKey}. ` +
                        'A smaller volume means a new host with its own volume and the states moved to it (docs/operations.md, "Drain a host").**',
                );
            } else {
                const what = modified
                    .map((p) => (p === "size" ? `grows from ${from} to ${to} GiB` : `changes its ${p}`))
                    .join(" and ");
                notes.push(
                    `State volume (${label}): ${what} in place (ModifyVolume), with no downtime: the VMs keep running` +
                        (modified.includes("size")
                            ? ", and the host's switch grows the pool or filesystem into the new size once the kernel sees it (it waits up to 5 minutes)"
                            : "") +
                        `. AWS's limit (${rule(constraint(volumeType, "size"), "rateLimited").says}).`,
                );
            }
        }
    }
    return { restarts, notes };
}
