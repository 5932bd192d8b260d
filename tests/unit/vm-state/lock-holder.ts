/** For lock.test.ts: takes vm-state's lock at argv[2] as vm-state does, prints "held", waits to be killed. */
import { readEnv } from "../../../vm-state/src/env";
import { Lock } from "../../../vm-state/src/lock";
import { Proc } from "../../../vm-state/src/proc";
import { Run } from "../../../vm-state/src/run";
import { dirname } from "path";

const path = process.argv[2];
Lock.acquire(new Proc(new Run(readEnv({}))), path, dirname(path), 0).then(
    () => {
        process.stdout.write("held\n");
        setInterval(() => undefined, 1000);
    },
    (err: Error) => {
        process.stderr.write(`${err.message}\n`);
        process.exit(1);
    },
);
