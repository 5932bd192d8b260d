/** Test helpers for the stack config's validation: a key that passes, and the problems reported. */
import { ConfigError, parseStackConfig } from "../../infra/config";

/** An OpenSSH public key that passes validation. */
export const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA you@example";

/** The smallest valid `host`: one operator key, one admin CIDR. */
export const validHost = (): Record<string, any> => ({ sshPublicKeys: [key], adminCidrs: ["203.0.113.0/24"] });

/** The problems parseStackConfig reports for RAW (and the stack's KEYS): [] when it is valid; any other error is thrown. */
export function configProblems(raw: Record<string, any>, keys: string[] = []): string[] {
    try {
        parseStackConfig(raw, keys);
        return [];
    } catch (err) {
        if (err instanceof ConfigError) {
            return [...err.problems];
        }
        throw err;
    }
}
