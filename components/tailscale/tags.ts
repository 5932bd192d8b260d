/** The one rule for Tailscale ACL tags (`tag:name`), used by the stack config and the components: lib/rules.ts. */
import { rules, whole } from "../../lib/rules";

export { tagProblem } from "../../lib/rules";
export const tagPattern = whole(rules.tag.pattern);
