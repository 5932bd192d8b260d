/**
 * The one place the offline plan reaches into the Pulumi SDK's internals (not in its public
 * typings): the mock monitor it wraps, the serializer's secret marker, and the RPC drain. An SDK
 * upgrade that moves any of them fails `tests/unit/sdk-canary.test.ts`, not the plan's users.
 */
import * as pulumi from "@pulumi/pulumi";

// Internal modules without typings: require, typed here at the one place they are used.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rpc = require("@pulumi/pulumi/runtime/rpc") as {
    specialSigKey: string;
    specialSecretSig: string;
    deserializeProperties(struct: unknown): Record<string, unknown>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

/** Marks a serialized secret: `{ [sigKey]: secretSig, value }`. */
export const sigKey: string = rpc.specialSigKey;
export const secretSig: string = rpc.specialSecretSig;

/** The registration request's object as the engine would receive it. */
export const deserializeProperties = (struct: unknown): Record<string, unknown> => rpc.deserializeProperties(struct);

/** Waits until every registration the program started has been answered. */
export const waitForRPCs = (): Promise<void> => settings.waitForRPCs();

/** The resource monitor the runtime talks to (the mock one under `setMocks`). */
export interface Monitor {
    registerResource(req: any, callback: (err: any, resp: any) => void): void;
}

export function currentMonitor(): Monitor {
    return (pulumi.runtime as unknown as { getMonitor(): Monitor }).getMonitor();
}
