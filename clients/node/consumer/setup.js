#!/usr/bin/env node
// Creates a fresh Node project outside the source tree that depends on the
// packed client (`npm pack` tarball) the way an application would:
//
//   node consumer/setup.js --tarball files-gateway-X.tgz --dir DIR --pkg STAGED_PKG
//
// DIR is emptied, given a package.json depending on "file:TARBALL" plus
// typescript and @types/node (the versions the package itself builds with, so
// npm's cache serves them), `npm install`ed, and given the consumer's own
// files: this folder's *.ts / *.test.js / tsconfig.json and the scenario and
// README runners from test/ (they load the package as "files-gateway").
"use strict";

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");

function args(argv) {
  const out = {};
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    if (!["tarball", "dir", "pkg"].includes(key) || argv[i + 1] === undefined) {
      throw new Error(`usage: setup.js --tarball TGZ --dir DIR --pkg STAGED_PKG (bad: ${argv[i]})`);
    }
    out[key] = path.resolve(argv[i + 1]);
  }
  for (const k of ["tarball", "dir", "pkg"]) if (!out[k]) throw new Error(`--${k} is required`);
  return out;
}

function installedVersion(pkg, name) {
  return JSON.parse(fs.readFileSync(path.join(pkg, "node_modules", name, "package.json"), "utf8")).version;
}

function main() {
  const a = args(process.argv);
  if (!fs.existsSync(a.tarball)) throw new Error(`no tarball at ${a.tarball} (cmake --build: target node_client)`);
  fs.rmSync(a.dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(a.dir, "test"), { recursive: true });
  fs.writeFileSync(path.join(a.dir, "package.json"), JSON.stringify({
    name: "files-gateway-consumer",
    version: "1.0.0",
    private: true,
    description: "An application using files-gateway from its npm pack tarball (the node_client_consumer_* tests)",
    dependencies: { "files-gateway": `file:${a.tarball}` },
    devDependencies: {
      typescript: installedVersion(a.pkg, "typescript"),
      "@types/node": installedVersion(a.pkg, "@types/node"),
    },
  }, null, 2) + "\n");
  const started = Date.now();
  execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
    { cwd: a.dir, stdio: "inherit" });
  const here = __dirname;
  for (const f of fs.readdirSync(here)) {
    if (f === "setup.js") continue;
    fs.copyFileSync(path.join(here, f), path.join(a.dir, f));
  }
  for (const f of ["harness.js", "scenario.integration.test.js", "readme.integration.test.js"]) {
    fs.copyFileSync(path.join(here, "..", "test", f), path.join(a.dir, "test", f));
  }
  const installed = path.join(a.dir, "node_modules", "files-gateway");
  if (fs.lstatSync(installed).isSymbolicLink()) throw new Error(`${installed} is a link, not an installed copy`);
  console.log(`consumer: ${a.dir} installed ${path.basename(a.tarball)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (e) {
  console.error(`consumer setup: ${e.stack || e}`);
  process.exit(1);
}
