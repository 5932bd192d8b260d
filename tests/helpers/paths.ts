/** The one repository root for every test. */
import { join, resolve } from "path";

export const repoRoot = resolve(__dirname, "../..");
/** A path inside the repository. */
export const repoPath = (...parts: string[]): string => join(repoRoot, ...parts);
