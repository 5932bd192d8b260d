/**
 * The instance's user data: the host's SSH host key, in the format the NixOS EC2 image reads, and
 * nothing else.
 *
 * nixpkgs `nixos/modules/virtualisation/ec2-data.nix` (service `apply-ec2-data`, before sshd) reads
 * `/etc/ec2-metadata/user-data` and, unless `/etc/ssh/ssh_host_ed25519_key` already exists, writes
 *   - the private key from the line `SSH_HOST_ED25519_KEY:<key with each newline replaced by |>`
 *     (`sed 's/|/\n/g; s/SSH_HOST_ED25519_KEY://; t; d'`), and
 *   - the public key from the line `SSH_HOST_ED25519_KEY_PUB:<OpenSSH public key>`.
 * `amazon-init.nix` treats user data as a NixOS configuration to `nixos-rebuild switch` to, unless
 * it starts with `#!` or holds nothing but `#` comment lines and `SSH_HOST_*` lines
 * (`sed '/^\(#\|SSH_HOST_.*\)/d' | grep -q '\S'`): so this file holds exactly that.
 */
import { keyWithoutComment } from "../../lib/sshKey";
import { shown } from "../../lib/redact";

export const privateKeyPrefix = "SSH_HOST_ED25519_KEY:";
export const publicKeyPrefix = "SSH_HOST_ED25519_KEY_PUB:";

function singleLine(text: string, what: string): string {
    const line = text.trim();
    if (line === "" || line.includes("\n")) {
        throw new Error(`${what} must be a single non-empty line`);
    }
    return line;
}

/**
 * Renders the user data for an ED25519 host key: `publicKey` is the OpenSSH public line,
 * `privateKey` the OpenSSH private key (PEM-like, several lines). Pure; the caller marks the
 * result secret.
 */
export function hostKeyUserData(publicKey: string, privateKey: string): string {
    const pub = singleLine(publicKey, "the host public key");
    if (!pub.startsWith("ssh-ed25519 ")) {
        throw new Error(`the host public key must be an ssh-ed25519 key, got ${shown(pub.split(" ")[0])}`);
    }
    const lines = privateKey.trim().split(/\r?\n/);
    if (lines[0] === "" || lines.some((l) => l.includes("|"))) {
        // `|` stands for a newline in the format; an OpenSSH key (base64) never contains one.
        throw new Error("the host private key must be a non-empty OpenSSH private key without '|'");
    }
    return [
        "# microvm-infra: the host's SSH host key, read once by NixOS apply-ec2-data (nixpkgs ec2-data.nix).",
        `${publicKeyPrefix}${pub}`,
        `${privateKeyPrefix}${lines.join("|")}`,
        "",
    ].join("\n");
}

/** An OpenSSH known_hosts line pinning `publicKey` for `address`. */
export function knownHostsLine(address: string, publicKey: string): string {
    return `${address} ${keyWithoutComment(publicKey)}`;
}
