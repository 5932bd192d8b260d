// Refuses a Node.js other than the one the project targets, saying how to get it. Plain
// JavaScript with no imports, so it runs (and explains) on any Node, before anything else.
"use strict";
const wanted = 22;
const major = Number(process.versions.node.split(".")[0]);
if (major !== wanted) {
    process.stderr.write([
        `microvm-infra needs Node.js ${wanted} LTS; this is Node.js ${process.versions.node} (${process.execPath}).`,
        `Get Node ${wanted} with one of:`,
        `  nvm install ${wanted} && nvm use ${wanted}          (reads .nvmrc)`,
        `  npm install --prefix /opt/node${wanted} node@${wanted} && export PATH=/opt/node${wanted}/node_modules/.bin:$PATH`,
        "then run `npm ci` again.",
        "",
    ].join("\n"));
    process.exit(1);
}
