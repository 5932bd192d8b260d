/**
 * The user data carrying the host key, checked against the NixOS EC2 image's own parsing: the
 * sed expressions of nixpkgs `ec2-data.nix` (apply-ec2-data) and `amazon-init.nix`, run for real
 * on a real ssh-keygen ED25519 key.
 */
import { execFileSync, spawnSync } from "child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { hostKeyUserData, knownHostsLine } from "../../components/aws/userData";
import { requireTools } from "../helpers/tools";

const withTools = requireTools(["sed", "grep", "ssh-keygen"], "apt-get install openssh-client").test;

// The exact expressions from nixpkgs nixos/modules/virtualisation/ec2-data.nix and amazon-init.nix.
const ec2DataPrivate = "sed 's/|/\\n/g; s/SSH_HOST_ED25519_KEY://; t; d' \"$1\"";
const ec2DataPublic = "sed 's/SSH_HOST_ED25519_KEY_PUB://; t; d' \"$1\"";
const amazonInitSeesNixConfig = "sed '/^\\(#\\|SSH_HOST_.*\\)/d' < \"$1\" | grep -q '\\S'";

function sh(script: string, file: string): { status: number | null; stdout: string } {
    const r = spawnSync("sh", ["-c", script, "sh", file], { encoding: "utf8" });
    return { status: r.status, stdout: r.stdout };
}

function realKey(): { dir: string; pub: string; priv: string } {
    const dir = mkdtempSync(join(tmpdir(), "aws-userdata-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "placeholder-host", "-f", join(dir, "key")]);
    return { dir, pub: readFileSync(join(dir, "key.pub"), "utf8"), priv: readFileSync(join(dir, "key"), "utf8") };
}

describe("hostKeyUserData against the NixOS image's parsing", () => {
    withTools("apply-ec2-data recovers exactly the private and public key", () => {
        const key = realKey();
        const file = join(key.dir, "user-data");
        writeFileSync(file, hostKeyUserData(key.pub, key.priv));

        // `key="$(sed ...)"` strips trailing newlines; `echo "$key"` adds one back.
        const privateKey = `${sh(ec2DataPrivate, file).stdout.replace(/\n+$/, "")}\n`;
        const publicKey = sh(ec2DataPublic, file).stdout.trim();
        expect(privateKey).toBe(key.priv);
        expect(publicKey).toBe(key.pub.trim());

        const written = join(key.dir, "ssh_host_ed25519_key");
        writeFileSync(written, privateKey, { mode: 0o600 });
        const derived = execFileSync("ssh-keygen", ["-y", "-f", written], { encoding: "utf8" }).trim();
        expect(derived.split(" ").slice(0, 2)).toEqual(key.pub.trim().split(" ").slice(0, 2));
    });

    withTools("amazon-init does not mistake it for a NixOS configuration, nor for a script", () => {
        const key = realKey();
        const file = join(key.dir, "user-data");
        const text = hostKeyUserData(key.pub, key.priv);
        writeFileSync(file, text);
        expect(sh(amazonInitSeesNixConfig, file).status).toBe(1);
        expect(text.startsWith("#!")).toBe(false);

        // The check is real: a stray line would be taken for a configuration.
        writeFileSync(file, `${text}{ services.nginx.enable = true; }\n`);
        expect(sh(amazonInitSeesNixConfig, file).status).toBe(0);
    });

    test("holds the host key and nothing else", () => {
        const text = hostKeyUserData(
            "ssh-ed25519 AAAAPUB placeholder\n",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\nBBBB\n-----END OPENSSH PRIVATE KEY-----\n",
        );
        const lines = text.trimEnd().split("\n");
        expect(lines.filter((l) => !l.startsWith("#"))).toEqual([
            "SSH_HOST_ED25519_KEY_PUB:ssh-ed25519 AAAAPUB placeholder",
            "SSH_HOST_ED25519_KEY:-----BEGIN OPENSSH PRIVATE KEY-----|AAAA|BBBB|-----END OPENSSH PRIVATE KEY-----",
        ]);
    });

    test.each([
        [
            "ssh-rsa AAAA x",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nA\n-----END OPENSSH PRIVATE KEY-----",
            "must be an ssh-ed25519 key",
        ],
        ["ssh-ed25519 AAAA\nssh-ed25519 BBBB", "k", "must be a single non-empty line"],
        ["ssh-ed25519 AAAA x", "a|b", "without '|'"],
        ["ssh-ed25519 AAAA x", "  \n", "non-empty"],
    ])("rejects public %p / private %p", (pub, priv, message) => {
        expect(() => hostKeyUserData(pub, priv)).toThrow(message);
    });

    test("knownHostsLine pins type and key for the address, without the comment", () => {
        expect(knownHostsLine("198.51.100.10", "ssh-ed25519 AAAAKEY host-comment\n")).toBe(
            "198.51.100.10 ssh-ed25519 AAAAKEY",
        );
    });
});
