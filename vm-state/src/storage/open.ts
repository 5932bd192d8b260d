/** The storage driver for the configured backend. */
import { StorageContext, StorageDriver } from "./driver";
import { FilesDriver } from "./files";
import { XfsDriver } from "./xfs";
import { ZfsDriver } from "./zfs";

export function openDriver(ctx: StorageContext): StorageDriver {
    switch (ctx.config.backend) {
        case "files":
            return new FilesDriver(ctx);
        case "xfs":
            return new XfsDriver(ctx);
        case "zfs":
            return new ZfsDriver(ctx);
    }
}
