/**
 * The root (VM_STATE_ROOT) and the one function every path under it goes through. vm-state runs
 * as root: it never reads, writes or deletes through a symbolic link planted under its root, so
 * each path is checked component by component (lstat) before it is used, and a link anywhere
 * below the root refuses the command (exit 4), naming the link. The few links vm-state owns (a
 * slot's `data.img`) are allowed only as the last component, where they are read or replaced,
 * never followed.
 *
 * Check, then use: a process that could swap a directory for a link between the two already runs
 * as root. Files are created with O_EXCL (never through an existing name) and replaced by rename.
 */
import { lstatSync, readlinkSync, Stats } from "fs";
import { conflict } from "./errors";
import { errnoCode } from "./text";

/** A path under the root that went through `Root.path` (the only constructor of one). */
export type RootPath = string & { readonly __rootPath: unique symbol };

export interface PathOptions {
    /** The last component may be a symbolic link (it is read or replaced, never followed). */
    readonly lastMayBeLink?: boolean;
}

/** Why a path is refused: the first link on the way, or undefined. */
export interface LinkProblem {
    readonly link: string;
    readonly target: string;
}

export function lstatOrNull(path: string): Stats | null {
    try {
        // throwIfNoEntry: a missing path is the common answer here, and an exception costs three lstats.
        return lstatSync(path, { throwIfNoEntry: false }) ?? null;
    } catch (err) {
        const code = errnoCode(err);
        if (code === "ENOENT" || code === "ENOTDIR") {
            return null;
        }
        throw err;
    }
}

function checkSegment(segment: string): void {
    if (segment === "" || segment === "." || segment === ".." || segment.includes("/") || segment.includes("\0")) {
        // Names are checked by the name rule long before: this is a bug, not bad input.
        throw new Error(`vm-state: internal error: bad path segment ${JSON.stringify(segment)}`);
    }
}

export class Root {
    constructor(readonly dir: string) {}

    /** The first symbolic link on the way to `segments` (the last one exempt if allowed), or undefined. */
    linkOn(segments: readonly string[], opts: PathOptions = {}): LinkProblem | undefined {
        let path = this.dir;
        for (let i = 0; i < segments.length; i++) {
            checkSegment(segments[i]);
            path = `${path}/${segments[i]}`;
            const stat = lstatOrNull(path);
            if (stat === null) {
                return undefined; // nothing further exists, so nothing further is a link
            }
            if (stat.isSymbolicLink() && !(i === segments.length - 1 && opts.lastMayBeLink)) {
                let target = "?";
                try {
                    target = readlinkSync(path);
                } catch {
                    // gone meanwhile: still refused
                }
                return { link: path, target };
            }
        }
        return undefined;
    }

    /**
     * The path of `segments` under the root, each a single name; refuses (exit 4) when a component
     * that exists is a symbolic link.
     */
    path(segments: readonly string[], opts: PathOptions = {}): RootPath {
        const problem = this.linkOn(segments, opts);
        if (problem) {
            throw conflict(refusal(problem, this.dir));
        }
        return (segments.length === 0 ? this.dir : `${this.dir}/${segments.join("/")}`) as RootPath;
    }

    /** Like `path`, but undefined instead of a refusal (read-only commands skip what they must not read). */
    tryPath(segments: readonly string[], opts: PathOptions = {}): RootPath | undefined {
        return this.linkOn(segments, opts) ? undefined : this.path(segments, opts);
    }
}

export function refusal(problem: LinkProblem, root: string): string {
    return `refusing to run: ${problem.link} is a symbolic link (to ${problem.target}); vm-state never follows links out of ${root}: remove the link or put the real directory or file there`;
}

/** A path outside the root that vm-state owns (the lock file): refused if it is a link. */
export function refuseLink(path: string, root: string): void {
    const stat = lstatOrNull(path);
    if (stat?.isSymbolicLink()) {
        let target = "?";
        try {
            target = readlinkSync(path);
        } catch {
            // refused anyway
        }
        throw conflict(refusal({ link: path, target }, root));
    }
}
