/**
 * vm-state in-process for the Jest tests: a temporary root and infra.json, the recording fakes
 * the bats suites use (systemctl, ch-remote, zfs), and `vm(...)` running main() with them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { main } from "../../../vm-state/src/main";

export const repo = resolve(__dirname, "../../..");
export const fakes = {
    systemctl: join(repo, "tests/fakes/systemctl"),
    chRemote: join(repo, "tests/bats/vm-state/fakes/ch-remote"),
    zfs: join(repo, "tests/bats/vm-state/fakes/zfs"),
};

export interface Host {
    readonly dir: string;
    readonly root: string;
    readonly config: string;
    readonly env: Record<string, string>;
}

export function infraJson(backend: string, slots: readonly string[], extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
        version: 1,
        storage: { backend, pool: "tank", device: null, autoSnapshots: [] },
        guest: { dataLabel: "vmstate" },
        slots: slots.map((name, i) => ({ name, index: i + 1 })),
        ...extra,
    });
}

/** A temporary host: its root, infra.json (files backend, slot1..3 unless told), the fakes' state. */
export function makeHost(backend = "files", slots: readonly string[] = ["slot1", "slot2", "slot3"]): Host {
    const dir = mkdtempSync(join(tmpdir(), "vm-state-test-"));
    const config = join(dir, "infra.json");
    writeFileSync(config, infraJson(backend, slots));
    mkdirSync(join(dir, "units"));
    const env = {
        VM_STATE_ROOT: join(dir, "root"),
        VM_STATE_CONFIG: config,
        VM_STATE_SYSTEMCTL: fakes.systemctl,
        VM_STATE_CH_REMOTE: fakes.chRemote,
        VM_STATE_ZFS: fakes.zfs,
        FAKE_SYSTEMCTL_DIR: join(dir, "units"),
        FAKE_SYSTEMCTL_LOG: join(dir, "systemctl.log"),
        FAKE_CH_REMOTE_DIR: join(dir, "ch"),
        FAKE_CH_REMOTE_LOG: join(dir, "ch-remote.log"),
        FAKE_ZFS_DIR: join(dir, "zfs"),
        FAKE_ZFS_LOG: join(dir, "zfs.log"),
        VM_STATE_START_TIMEOUT: "2",
        VM_STATE_LOCK_WAIT: "5",
        PATH: `${process.env.PATH}:/usr/sbin:/sbin`,
    };
    return { dir, root: env.VM_STATE_ROOT, config, env };
}

export function removeHost(host: Host): void {
    rmSync(host.dir, { recursive: true, force: true });
}

export interface Ran {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs vm-state ARGV in this process against HOST (its environment, for vm-state and the commands it runs). */
export async function vm(host: Host, ...argv: string[]): Promise<Ran> {
    let stdout = "";
    let stderr = "";
    const code = await main(argv, {
        env: { ...process.env, ...host.env },
        stdout: (t) => {
            stdout += t;
        },
        stderr: (t) => {
            stderr += t;
        },
        stdoutIsTTY: false,
    });
    return { code, stdout, stderr };
}
