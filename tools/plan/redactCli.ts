/**
 * `tsx tools/plan/redactCli.ts < FILE`: FILE with every secret-shaped part replaced and every
 * overlong word cut (lib/redact.ts), for text that leaves the runner, such as a failing plan's
 * stderr that plan.yml puts into the pull request's comment.
 */
import { readFileSync } from "fs";
import { capWords, redactText } from "../../lib/redact";

process.stdout.write(capWords(redactText(readFileSync(0, "utf8"))));
