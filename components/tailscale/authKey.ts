import * as pulumi from "@pulumi/pulumi";

export interface HostAuthKeyArgs {
    /** Tags the host gets when it joins (tailscale.tags). */
    readonly tags: readonly string[];
}

/** TODO(issue 7): tagged, pre-authorized, single-use, non-ephemeral auth key. */
export class HostAuthKey extends pulumi.ComponentResource {
    /** The auth key: a secret. */
    readonly key: pulumi.Output<string>;

    constructor(name: string, args: HostAuthKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microvm-infra:tailscale:HostAuthKey", name, {}, opts);
        void args;
        this.key = pulumi.secret("");
        this.registerOutputs({});
    }
}
