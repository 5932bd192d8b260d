// Refuses a Node.js other than the one the project targets, saying how to get it. Plain
// JavaScript with no imports, so it runs (and explains) on any Node, before anything else.
// It runs first in `npm run setup` (the README's first command), `npm test`, `npm run plan` and
// `npm run bench`. Not in a bare `npm ci`: npm 11.19.1 checks `engines` (.npmrc engine-strict)
// while it builds the tree, before any script, and runs the root package's `preinstall` only
// after the whole install (lib/commands/ci.js: buildIdealTree, reify, then the root scripts), so
// a wrong Node sees npm's EBADENGINE line there; `npm run` does not check engines.
"use strict";
const wanted = 22;
const major = Number(process.versions.node.split(".")[0]);
if (major !== wanted) {
    process.stderr.write(
        [
            `microvm-infra needs Node.js ${wanted} LTS; this is Node.js ${process.versions.node} (${process.execPath}).`,
            `Get Node ${wanted} with one of:`,
            `  nvm install ${wanted} && nvm use ${wanted}          (reads .nvmrc)`,
            `  npm install --prefix /opt/node${wanted} node@${wanted} && export PATH=/opt/node${wanted}/node_modules/.bin:$PATH`,
            "then run `npm run setup` again (it runs `npm ci`).",
            "",
        ].join("\n"),
    );
    process.exit(1);
}
