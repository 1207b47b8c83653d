// Runs in the consumer project (node_client_consumer_types): the package was
// installed from its npm pack tarball, as an application gets it, and its
// types hold under strict TypeScript, both ways round.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { execFile } = require("node:child_process");
const { promisify } = require("node:util");
const { test } = require("node:test");

const run = promisify(execFile);
const HERE = __dirname;
const TSC = require.resolve("typescript/bin/tsc", { paths: [HERE] });

test("files-gateway is an installed copy of the packed package, not the source tree", () => {
  const dir = path.dirname(require.resolve("files-gateway/package.json", { paths: [HERE] }));
  assert.equal(dir, path.join(HERE, "node_modules", "files-gateway"));
  assert.ok(!fs.lstatSync(dir).isSymbolicLink(), `${dir} is a link`);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  assert.ok(!pkg.private, "the package is publishable (not private)");
  assert.equal(pkg.exports["."].types, "./dist/index.d.ts");
  for (const f of ["dist/index.js", "dist/index.d.ts", "dist/gen/descriptors.json", "dist/gen/resources.d.ts", "README.md"]) {
    assert.ok(fs.existsSync(path.join(dir, f)), `the package holds ${f}`);
  }
  for (const f of ["src", "test", "scripts", "node_modules"]) {
    assert.ok(!fs.existsSync(path.join(dir, f)), `the package does not ship ${f}/`);
  }
  // The runtime loads from there too.
  const fg = require(require.resolve("files-gateway", { paths: [HERE] }));
  assert.equal(typeof fg.connect, "function");
  assert.equal(fg.errors.NotFound_UserNotFoundError, fg.errors.UserNotFoundError);
});

test("an application compiles under tsc --strict (module node16: exports -> types)", async () => {
  try {
    await run(process.execPath, [TSC, "-p", path.join(HERE, "tsconfig.json")], { cwd: HERE });
  } catch (e) {
    assert.fail(`tsc --strict refused typecheck.ts:\n${e.stdout}${e.stderr}`);
  }
});

test("wrong types are compile errors (tsc --strict --noEmit, module commonjs)", async () => {
  const file = path.join(HERE, "wrong_types.ts");
  const want = [];
  fs.readFileSync(file, "utf8").split("\n").forEach((line, i) => {
    const m = /\/\/ expect: (TS\d+)/.exec(line);
    if (m) want.push(`${i + 1} ${m[1]}`);
  });
  assert.ok(want.length >= 5, "wrong_types.ts marks its errors");
  let out = "";
  try {
    await run(process.execPath, [TSC, "--strict", "--noEmit", "--skipLibCheck", "--target", "ES2022", "--module", "commonjs",
      "--esModuleInterop", "--types", "node", file], { cwd: HERE });
    assert.fail("tsc accepted wrong_types.ts");
  } catch (e) {
    if (e.code === "ERR_ASSERTION") throw e;
    out = `${e.stdout}${e.stderr}`;
  }
  const got = [...out.matchAll(/wrong_types\.ts\((\d+),\d+\): error (TS\d+)/g)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual([...new Set(got)].sort(), want.sort(), `tsc said:\n${out}`);
  assert.match(out, /Type 'string' is not assignable to type 'number'/);
});

test("an ES module application imports the named exports too", async () => {
  const code = 'import { connect, errors, hasField, ResumableUpload } from "files-gateway";\n' +
    'console.log([typeof connect, typeof errors.NotFound_UserNotFoundError, typeof hasField, typeof ResumableUpload].join(" "));';
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", code], { cwd: HERE });
  assert.equal(stdout.trim(), "function function function function");
});
