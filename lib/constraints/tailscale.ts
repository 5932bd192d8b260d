/**
 * What the Tailscale provider (terraform-provider-tailscale, bridged by @pulumi/tailscale) and the
 * Tailscale API impose on the properties the program sets. Lines at
 * `terraform-provider-tailscale@v0.29.2` (revisions.ts), under `tailscale/`.
 */
import { CodeSource, Constraint, DocSource, entries, readsBackAsSent as sent, Rule } from "./types";

const ts = (file: string, line: number): CodeSource => ({
    rev: "terraform-provider-tailscale@v0.29.2",
    path: `tailscale/${file}`,
    line,
});
const kb = (url: string, says: string): DocSource => ({ url, says, read: "2026-12 (search index copy)" });

const replace: Rule = { kind: "forcesReplacement" };
const bool: Rule = { kind: "enum", values: [true, false] };
/** What Tailscale accepts as an ACL tag (tailcfg.CheckTag): `tag:`, a letter, then letters, digits and '-'. */
export const tailscaleTagPattern = /^tag:[A-Za-z][A-Za-z0-9-]*$/;
const tag: Rule = {
    kind: "pattern",
    regex: tailscaleTagPattern,
    says: "tag: then a letter, then letters, digits and '-'",
};
const deviceId: Rule = {
    kind: "pattern",
    regex: /^[A-Za-z0-9]+$/,
    says: "a node id as `tailscale status --json` reports it (Self.ID)",
};
const tagSource: CodeSource = { rev: "tailscale@de9ec7ee", path: "tailcfg/tailcfg.go", line: 746 };

/** The tailnet key's Read copies the key's fields from the API's record of it (Keys().Get), unchanged. */
const keyField = (field: string, line: number): Rule =>
    sent(
        `the key's ${field} as the API returns it (Keys().Get), copied unchanged; a key the API no longer knows keeps the state's values`,
        ts("resource_tailnet_key.go", line),
    );
/** Device resources whose Read sets device_id to the API's id of the form the state holds (legacy id or node id). */
const deviceIdOnRead = (file: string, line: number): Rule =>
    sent(
        "set to the device's legacy id when that is what was sent, else to its node id: the device was looked up by the id sent, so either form reads back as sent",
        ts(file, line),
    );

export const tailscaleConstraints: Constraint[] = [
    ...entries("tailscale:index/tailnetKey:TailnetKey", [
        {
            property: "reusable",
            rules: [bool, replace, keyField("capabilities.devices.create.reusable", 261)],
            sources: [ts("resource_tailnet_key.go", 74)],
        },
        {
            property: "ephemeral",
            rules: [bool, replace, keyField("capabilities.devices.create.ephemeral", 262)],
            sources: [ts("resource_tailnet_key.go", 81)],
        },
        {
            property: "preauthorized",
            rules: [bool, replace, keyField("capabilities.devices.create.preauthorized", 272)],
            sources: [ts("resource_tailnet_key.go", 96)],
        },
        {
            property: "tags[]",
            rules: [tag, replace, keyField("capabilities.devices.create.tags (a set: order is not compared)", 266)],
            sources: [ts("resource_tailnet_key.go", 88), tagSource],
        },
        {
            property: "expiry",
            rules: [{ kind: "range", min: 1, max: 7776000, integer: true }, replace, keyField("expirySeconds", 273)],
            sources: [
                ts("resource_tailnet_key.go", 109),
                kb("https://tailscale.com/kb/1085/auth-keys", "auth keys expire after 90 days at most"),
            ],
        },
        {
            property: "description",
            rules: [
                { kind: "length", max: 50 },
                { kind: "pattern", regex: /^[A-Za-z0-9 ]*$/, says: "alphanumeric characters (and spaces)" },
                replace,
                keyField("description", 276),
            ],
            sources: [ts("resource_tailnet_key.go", 125), ts("resource_tailnet_key.go", 131)],
            note: "the provider checks the length; its description says alphanumeric characters",
        },
        {
            property: "recreateIfInvalid",
            rules: [{ kind: "enum", values: ["", "always", "never"] }],
            sources: [ts("resource_tailnet_key.go", 140), ts("resource_tailnet_key.go", 339)],
            note: '"never": a used single-use key is not minted again on its own (the plan\'s ModifyPlan replaces an invalid key only when asked)',
        },
    ]),
    ...entries("tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes", [
        {
            property: "deviceId",
            rules: [
                deviceId,
                replace,
                sent(
                    "kept from the state: the Read looks the routes up by the device_id in the state and never sets it",
                    ts("resource_device_subnet_routes.go", 93),
                ),
            ],
            sources: [ts("resource_device_subnet_routes.go", 69)],
        },
        {
            property: "routes[]",
            rules: [{ kind: "cidr", family: 4 }],
            sources: [ts("resource_device_subnet_routes.go", 76)],
            note: "a set: order does not matter",
        },
    ]),
    ...entries("tailscale:index/deviceKey:DeviceKey", [
        {
            property: "deviceId",
            rules: [deviceId, replace, deviceIdOnRead("resource_device_key.go", 142)],
            sources: [ts("resource_device_key.go", 51)],
        },
        { property: "keyExpiryDisabled", rules: [bool], sources: [ts("resource_device_key.go", 58)] },
    ]),
    ...entries("tailscale:index/deviceTags:DeviceTags", [
        {
            property: "deviceId",
            rules: [deviceId, replace, deviceIdOnRead("resource_device_tags.go", 92)],
            sources: [ts("resource_device_tags.go", 50)],
        },
        { property: "tags[]", rules: [tag], sources: [ts("resource_device_tags.go", 57), tagSource] },
    ]),
    ...entries("tailscale:index/acl:Acl", [
        {
            property: "acl",
            rules: [{ kind: "json" }],
            sources: [ts("resource_acl.go", 64)],
            note: "JSON or HuJSON; ours is JSON (components/tailscale/policy.ts)",
        },
        { property: "overwriteExistingContent", rules: [bool], sources: [ts("resource_acl.go", 74)] },
        { property: "resetAclOnDestroy", rules: [bool], sources: [ts("resource_acl.go", 78)] },
    ]),
];
