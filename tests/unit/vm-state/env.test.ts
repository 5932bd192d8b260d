import { envDefaults, readEnv } from "../../../vm-state/src/env";

describe("the environment", () => {
    test("defaults as docs/vm-state.md lists them", () => {
        const env = readEnv({});
        expect(env).toMatchObject({
            config: envDefaults.config,
            root: "/var/lib/microvms",
            lock: "/var/lib/microvms/.vm-state.lock",
            lockWait: 30,
            startTimeout: 60,
            commands: { systemctl: "systemctl", zfs: "zfs", chRemote: "ch-remote", journalctl: "journalctl" },
            noColor: false,
        });
        expect(env.backend).toBeUndefined();
        expect(readEnv({ VM_STATE_ROOT: "/r" }).lock).toBe("/r/.vm-state.lock");
        expect(readEnv({ VM_STATE_LOCK_WAIT: "0", NO_COLOR: "1" })).toMatchObject({ lockWait: 0, noColor: true });
        expect(readEnv({ NO_COLOR: "" }).noColor).toBe(false);
    });

    test.each([
        ["VM_STATE_LOCK_WAIT", "abc"],
        ["VM_STATE_LOCK_WAIT", "-1"],
        ["VM_STATE_LOCK_WAIT", "1.5"],
        ["VM_STATE_LOCK_WAIT", "99999999"],
        ["VM_STATE_START_TIMEOUT", "soon"],
        ["VM_STATE_START_TIMEOUT", " 5"],
    ])("%s=%j is a usage error naming the variable", (name, value) => {
        expect(() => readEnv({ [name]: value })).toThrow(
            expect.objectContaining({ code: 2, message: expect.stringContaining(`invalid ${name} '`) }),
        );
    });

    test("a command or path with a NUL is refused", () => {
        expect(() => readEnv({ VM_STATE_ZFS: "zfs\u0000x" })).toThrow("invalid VM_STATE_ZFS");
        expect(() => readEnv({ VM_STATE_ROOT: "/r\u0000" })).toThrow("invalid VM_STATE_ROOT");
    });

    test("the test phase hook", () => {
        expect(readEnv({ VM_STATE_TEST_PHASE: "stopped", VM_STATE_TEST_PHASE_FILE: "/f" }).testPhase).toEqual({
            name: "stopped",
            file: "/f",
            resume: undefined,
        });
    });
});
