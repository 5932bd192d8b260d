/** OpenSSH public key format check: `<type> <base64 blob> [comment]`, with the blob naming the same type. */

export const sshKeyTypes = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-rsa",
] as const;

function preview(key: string): string {
    return key.length > 24 ? `${key.slice(0, 24)}...` : key;
}

/** Why `key` is not an OpenSSH public key line, or undefined when it is. */
export function checkSshPublicKey(key: string): string | undefined {
    const expected = `must be an OpenSSH public key line "<type> <base64> [comment]" with type ${sshKeyTypes.join(", ")}`;
    const [type, blob] = key.trim().split(/\s+/);
    if (!(sshKeyTypes as readonly string[]).includes(type) || blob === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) {
        return `${expected}, got "${preview(key)}"`;
    }
    const bytes = Buffer.from(blob, "base64");
    const nameLength = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
    const embedded = nameLength > 0 && nameLength <= bytes.length - 4 ? bytes.subarray(4, 4 + nameLength).toString("latin1") : "";
    if (embedded !== type) {
        return `${expected}; the key data of "${preview(key)}" does not encode a ${type} key`;
    }
    return undefined;
}
