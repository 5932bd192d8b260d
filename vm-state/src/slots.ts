/**
 * Slots: the systemd unit that runs each slot's VM (`microvm@<slot>.service`), Cloud Hypervisor's
 * API to pause and resume it, and the slot's disk, the link `<root>/<slot>/data.img` to a state's
 * image. Slots come from infra.json (`.slots[].name`); there is no built-in list.
 */
import { makeDirs } from "./atomic";
import { readlinkSync, renameSync, symlinkSync, unlinkSync } from "fs";
import { HostConfig } from "./config";
import { conflict, fail } from "./errors";
import { Layout } from "./layout";
import { checkName } from "./names";
import { Proc } from "./proc";
import { lstatOrNull } from "./root";
import { Run } from "./run";
import { lastLine, shown, systemMessage } from "./text";

export const unitOf = (slot: string): string => `microvm@${slot}.service`;

/** ": <what systemctl said>" when it said something. */
const because = (stderr: string): string => (lastLine(stderr) ? `: ${lastLine(stderr)}` : "");

/** What is at a slot's `data.img`. */
export type DiskKind = "none" | "link" | "file" | "directory" | "other";

export class Slots {
    private readonly warned = new Set<string>();

    constructor(
        private readonly run: Run,
        private readonly proc: Proc,
        private readonly layout: Layout,
        private readonly config: HostConfig,
    ) {}

    get names(): readonly string[] {
        return this.config.slots;
    }

    has(slot: string): boolean {
        return this.config.slots.includes(slot);
    }

    /** A valid slot name that infra.json lists (usage error, else exit 4). */
    need(slot: string): void {
        checkName("slot", slot, this.layout.statesDir);
        if (!this.has(slot)) {
            throw conflict(
                `unknown slot ${shown(slot)}: slots in ${this.config.path} are ${this.config.slots.join(" ") || "none"}`,
            );
        }
    }

    async isRunning(slot: string): Promise<boolean> {
        return this.proc.succeeds(this.run.env.commands.systemctl, ["is-active", "--quiet", unitOf(slot)]);
    }

    async stop(slot: string): Promise<void> {
        this.run.log(`stopping ${unitOf(slot)}`);
        const r = await this.proc.exec(this.run.env.commands.systemctl, ["stop", unitOf(slot)], { stdout: "ignore" });
        if (r.code !== 0) {
            throw fail(`could not stop ${unitOf(slot)}${because(r.stderr)}`);
        }
    }

    async start(slot: string): Promise<void> {
        this.run.log(`starting ${unitOf(slot)}`);
        const r = await this.proc.exec(this.run.env.commands.systemctl, ["start", unitOf(slot)], { stdout: "ignore" });
        if (r.code !== 0) {
            throw fail(`could not start ${unitOf(slot)}${because(r.stderr)} (see: journalctl -u ${unitOf(slot)})`);
        }
    }

    /** Waits until each slot is active, VM_STATE_START_TIMEOUT seconds in all; fails naming every slot that is not. */
    async waitRunning(slots: readonly string[]): Promise<void> {
        const end = Date.now() + this.run.env.startTimeout * 1000;
        const failed: string[] = [];
        for (const slot of slots) {
            while (!(await this.isRunning(slot))) {
                if (Date.now() >= end) {
                    failed.push(slot);
                    break;
                }
                await this.run.sleep(200);
            }
        }
        if (failed.length > 0) {
            throw fail(
                `did not come up within ${this.run.env.startTimeout}s: ${failed.join(" ")} (see: journalctl -u ${unitOf(failed[0])})`,
            );
        }
    }

    apiSocket(slot: string): string {
        return this.layout.apiSocket(slot);
    }

    /** `ch-remote --api-socket <socket> pause|resume`; the error line on failure. */
    async hypervisor(slot: string, verb: "pause" | "resume"): Promise<string | undefined> {
        const r = await this.proc.exec(this.run.env.commands.chRemote, ["--api-socket", this.apiSocket(slot), verb], {
            stdout: "ignore",
        });
        return r.code === 0 ? undefined : lastLine(r.stderr) || "failed";
    }

    /** What is at the slot's `data.img` (its directory must not be a link: refused, exit 4). */
    diskKind(slot: string): DiskKind {
        const stat = lstatOrNull(this.layout.slotLink(slot));
        if (stat === null) {
            return "none";
        }
        return stat.isSymbolicLink() ? "link" : stat.isFile() ? "file" : stat.isDirectory() ? "directory" : "other";
    }

    /** The state the slot's link points at, or undefined (no link, or one that is not to a state: warned once). */
    stateOf(slot: string): string | undefined {
        const link = this.layout.root.tryPath([slot, "data.img"], { lastMayBeLink: true });
        if (link === undefined) {
            this.warnOnce(
                slot,
                `warning: ${this.layout.rootDir}/${slot} is a symbolic link; vm-state does not read through it`,
            );
            return undefined;
        }
        let target: string;
        try {
            target = readlinkSync(link);
        } catch {
            return undefined; // not a link (or none)
        }
        const prefix = `${this.layout.statesDir}/`;
        const name =
            target.startsWith(prefix) && target.endsWith("/data.img")
                ? target.slice(prefix.length, -"/data.img".length)
                : "";
        if (name !== "" && !name.includes("/") && this.layout.imageTarget(name) === target) {
            return name;
        }
        this.warnOnce(slot, `warning: ${link} points at ${target}, not at a state`);
        return undefined;
    }

    /** The slot (of infra.json's) whose link points at STATE, or undefined. */
    slotOf(state: string): string | undefined {
        return this.config.slots.find((slot) => this.stateOf(slot) === state);
    }

    /**
     * The new link, made before anything stops (so a slot directory that cannot take it refuses
     * the change while the slot still runs): `<slot>/data.img.tmp` -> the state's image.
     */
    prepareLink(slot: string, state: string): void {
        const tmp = this.layout.slotLinkTemp(slot);
        const what = `linking ${slot} to ${state}`;
        try {
            makeDirs(this.layout.slotDir(slot));
        } catch (err) {
            throw fail(`creating ${this.layout.rootDir}/${slot} failed: ${systemMessage(err)}`);
        }
        try {
            if (lstatOrNull(tmp) !== null) {
                unlinkSync(tmp);
            }
            symlinkSync(this.layout.imageTarget(state), tmp);
        } catch (err) {
            throw fail(`${what} failed: ${systemMessage(err)}`);
        }
    }

    /** Renames the prepared link over `data.img` (atomic: the slot has the old disk or the new one). */
    placeLink(slot: string, state: string): void {
        try {
            renameSync(this.layout.slotLinkTemp(slot), this.layout.slotLink(slot));
        } catch (err) {
            throw fail(`linking ${slot} to ${state} failed: ${systemMessage(err)}`);
        }
    }

    /** Links the slot to STATE now (prepare and place). */
    link(slot: string, state: string): void {
        this.prepareLink(slot, state);
        this.placeLink(slot, state);
    }

    /** Removes the slot's link (only a link: a disk of its own is never removed here). */
    unlink(slot: string): void {
        const link = this.layout.slotLink(slot);
        if (lstatOrNull(link)?.isSymbolicLink()) {
            try {
                unlinkSync(link);
            } catch (err) {
                throw fail(`unlinking ${slot} failed: ${systemMessage(err)}`);
            }
        }
    }

    /** Drops a prepared link that will not be placed. */
    discardPrepared(slot: string): void {
        try {
            unlinkSync(this.layout.slotLinkTemp(slot));
        } catch {
            // not there
        }
    }

    private warnOnce(slot: string, message: string): void {
        if (!this.warned.has(slot)) {
            this.warned.add(slot);
            this.run.log(message);
        }
    }
}
