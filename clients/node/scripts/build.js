#!/usr/bin/env node
// npm run build: generate from proto/ (scripts/generate.js), compile with tsc
// into dist/ and copy the descriptor bundle beside the compiled code.
//
//   node scripts/build.js [--proto-root DIR] [--protoc PATH]
"use strict";

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");

const PKG = path.resolve(__dirname, "..");
const run = (args) => execFileSync(process.execPath, args, { cwd: PKG, stdio: "inherit" });
const tsc = path.join(PKG, "node_modules", "typescript", "bin", "tsc");

run([path.join(__dirname, "generate.js"), ...process.argv.slice(2)]);
run([tsc, "-p", path.join(PKG, "tsconfig.json")]);
fs.mkdirSync(path.join(PKG, "dist", "gen"), { recursive: true });
fs.copyFileSync(path.join(PKG, "src", "gen", "descriptors.json"), path.join(PKG, "dist", "gen", "descriptors.json"));
console.log("build: dist/ ready");
