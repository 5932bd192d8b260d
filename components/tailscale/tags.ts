/** The one rule for Tailscale ACL tags (`tag:name`), used by the stack config and the components. */
import { shown } from "../../lib/redact";

export const tagPattern = /^tag:[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i;

/** Why `tag` is not a Tailscale tag, or undefined. */
export function tagProblem(tag: string): string | undefined {
    return tagPattern.test(tag) ? undefined : `must look like tag:name (letters, digits, '-'), got ${shown(tag)}`;
}
