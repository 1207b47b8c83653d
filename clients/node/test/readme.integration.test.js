// The README's example: extracted, type-checked with tsc against the built
// package (as an application would import it: "files-gateway"), compiled and
// run against files-gateway + files-emulator from a build tree.
"use strict";

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFile } = require("node:child_process");
const { promisify } = require("node:util");
const { test, before, after } = require("node:test");
const harness = require("./harness");

const run = promisify(execFile);
const skip = harness.skipReason();
const servers = [];
let target;
let app;

// In the consumer project the README is the one the installed package ships.
const installed = harness.installedPackageDir();

function example() {
  const readme = fs.readFileSync(path.join(installed || harness.PKG, "README.md"), "utf8");
  const section = readme.split(/^## Example$/m)[1];
  const block = section && /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(block, "README.md has a ```ts block under ## Example");
  return block[1];
}

before(async () => {
  if (skip) return;
  const key = "node-readme-" + crypto.randomBytes(4).toString("hex");
  const emu = await harness.startEmulator(harness.buildDir(), key);
  servers.push(emu);
  const gw = await harness.startGateway(harness.buildDir(), emu.baseUrl, key);
  servers.push(gw);
  target = gw.target;
  if (installed) {
    // A folder of the consumer project: "files-gateway" resolves to its node_modules.
    app = fs.mkdtempSync(path.join(harness.PKG, "readme-"));
  } else {
    // An application folder depending on the package, as npm would lay it out.
    app = fs.mkdtempSync(path.join(os.tmpdir(), "node-readme-"));
    fs.mkdirSync(path.join(app, "node_modules"));
    fs.symlinkSync(harness.PKG, path.join(app, "node_modules", "files-gateway"), "dir");
  }
  fs.writeFileSync(path.join(app, "example.ts"), example());
  fs.writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      target: "ES2022", module: "commonjs", strict: true, esModuleInterop: true, skipLibCheck: true,
      types: ["node"], typeRoots: [path.join(harness.PKG, "node_modules", "@types")], outDir: "out",
    },
    files: ["example.ts"],
  }));
});

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  if (app) fs.rmSync(app, { recursive: true, force: true });
});

test("the README example type-checks and runs", { skip }, async () => {
  const tsc = path.join(harness.PKG, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(process.execPath, [tsc, "-p", path.join(app, "tsconfig.json")], { cwd: app });
  } catch (e) {
    assert.fail(`tsc refused the README example:\n${e.stdout}${e.stderr}`);
  }
  const { stdout } = await run(process.execPath, [path.join(app, "out", "example.js")], {
    cwd: app, env: { ...process.env, FILES_GATEWAY_TARGET: target }, timeout: 60000,
  }).catch((e) => assert.fail(`the README example failed:\n${e.stdout}${e.stderr}`));
  assert.match(stdout, /UserNotFoundError not-found\/user-not-found 404 NOT_FOUND/);
  assert.match(stdout, /hello from Node/);
  assert.match(stdout, /\[ 'copy\.txt', 'hello\.txt' \]/);
  assert.match(stdout, /Demo User demo@example\.com/);
  assert.match(stdout, /progress 16\/16/);
  assert.match(stdout, /via the SDK's names: hello from Node/);
  assert.match(stdout, /resumable: true 18/);
});
