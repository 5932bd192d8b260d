/**
 * The one rule for Tailscale ACL tags (`tag:name`), used by the stack config and the components:
 * within what Tailscale accepts (lib/constraints/tailscale.ts, tailcfg.CheckTag: the name starts
 * with a letter), and not ending with '-'.
 */
export const tagPattern = /^tag:[a-z]([a-z0-9-]*[a-z0-9])?$/i;

/** Why `tag` is not a Tailscale tag, or undefined. */
export function tagProblem(tag: string): string | undefined {
    return tagPattern.test(tag) ? undefined : `must look like tag:name (a letter, then letters, digits, '-'), got "${tag}"`;
}
