#!/usr/bin/env node
// Client start cost of the Node client: CPU of `require("files-gateway")` +
// connect() + the first call (users.find), in fresh processes, against
// files-gateway + files-emulator from a build tree; beside it a plain HTTP
// program's first call (fetch to the emulator's REST API, the Files.com SDK's
// way), grpc-js alone making the same RPC with hand-encoded bytes, and a bare
// `node -e 0`.
//
//   node bench/node_client_start.js --build build [--runs 10] [--package DIR]
//
// DIR defaults to the consumer project's installed copy
// (build/clients/node/consumer/node_modules/files-gateway), else the staged
// package (build/clients/node/pkg). Prints medians of process.cpuUsage().
"use strict";

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");

const args = { build: "build", runs: 10, package: undefined };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  if (!(key in args)) throw new Error(`unknown flag ${process.argv[i]}`);
  args[key] = key === "runs" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
const build = path.resolve(args.build);
const pkg = path.resolve(args.package || [
  path.join(build, "clients/node/consumer/node_modules/files-gateway"),
  path.join(build, "clients/node/pkg"),
].find((d) => fs.existsSync(path.join(d, "dist", "index.js"))) || "");
const harness = require(path.join(build, "clients/node/pkg/test/harness.js"));

// One fresh process: CPU (ms) at its start (node's own boot), after require,
// and after connect + the first call.
const CHILD = `
const boot = process.cpuUsage();
const ms = (u) => (u.user + u.system) / 1000;
const mode = process.argv[1];
(async () => {
  let afterImport = boot;
  if (mode === "client") {
    const fg = require(process.env.PKG);
    afterImport = process.cpuUsage();
    const client = fg.connect(process.env.TARGET);
    const user = await client.users.find(Number(process.env.USER_ID));
    if (!user.username) throw new Error("no username");
    client.close();
  } else if (mode === "grpc") {
    // grpc-js alone: the same RPC with hand-encoded bytes (FindUserRequest {id = 1}), no client layer.
    const grpc = require(process.env.GRPC_JS);
    afterImport = process.cpuUsage();
    const client = new grpc.Client(process.env.TARGET, grpc.credentials.createInsecure());
    const id = Number(process.env.USER_ID);
    const varint = [];
    for (let v = id; ; v = Math.floor(v / 128)) { if (v < 128) { varint.push(v); break; } varint.push((v % 128) | 128); }
    const reply = await new Promise((resolve, reject) => client.makeUnaryRequest("/files.v1.UserService/FindUser",
      (b) => b, (b) => b, Buffer.from([0x08, ...varint]), (err, value) => (err ? reject(err) : resolve(value))));
    if (!reply.length) throw new Error("empty reply");
    client.close();
  } else if (mode === "http") {
    const res = await fetch(process.env.BASE_URL + "/api/rest/v1/users/" + process.env.USER_ID,
      { headers: { "X-FilesAPI-Key": process.env.KEY } });
    const user = await res.json();
    if (!user.username) throw new Error("no username: " + JSON.stringify(user));
  }
  const end = process.cpuUsage();
  console.log(JSON.stringify({ boot: ms(boot), import: ms(afterImport) - ms(boot), total: ms(end) - ms(boot), whole: ms(end) }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const key = "bench-" + process.pid;
  const dir = build;
  const emu = await harness.startEmulator(dir, key);
  const gw = await harness.startGateway(dir, emu.baseUrl, key);
  try {
    const fg = require(pkg);
    const client = fg.connect(gw.target);
    const user = await client.users.create({ username: `start-${process.pid}` });
    client.close();
    const grpcJs = require.resolve("@grpc/grpc-js", { paths: [pkg] });
    const env = { ...process.env, PKG: pkg, GRPC_JS: grpcJs, TARGET: gw.target, USER_ID: String(user.id), BASE_URL: emu.baseUrl, KEY: key };
    const results = { bare: [], http: [], grpc: [], client: [] };
    for (let r = 0; r < args.runs; r++) {
      for (const mode of Object.keys(results)) {
        const out = execFileSync(process.execPath, ["-e", CHILD, mode], { env, encoding: "utf8" });
        results[mode].push(JSON.parse(out.trim().split("\n").pop()));
      }
    }
    const row = (mode, field) => median(results[mode].map((x) => x[field])).toFixed(1);
    console.log(`Node ${process.version}, package ${pkg}, ${args.runs} runs each, medians of process.cpuUsage() (user+system ms)`);
    console.log(`| program | node boot | require | require + connect + first call | whole process |`);
    console.log(`|---|---|---|---|---|`);
    console.log(`| node -e 0 | ${row("bare", "boot")} | - | - | ${row("bare", "whole")} |`);
    console.log(`| plain HTTP (fetch, the SDK's way) | ${row("http", "boot")} | - | ${row("http", "total")} | ${row("http", "whole")} |`);
    console.log(`| grpc-js alone (same RPC, hand-encoded) | ${row("grpc", "boot")} | ${row("grpc", "import")} | ${row("grpc", "total")} | ${row("grpc", "whole")} |`);
    console.log(`| files-gateway client | ${row("client", "boot")} | ${row("client", "import")} | ${row("client", "total")} | ${row("client", "whole")} |`);
    const med = (mode) => median(results[mode].map((x) => x.total));
    console.log(`client first call / plain HTTP first call (CPU beyond node's boot): ${(med("client") / med("http")).toFixed(2)}x`);
    console.log(`client beyond grpc-js alone: ${(med("client") - med("grpc")).toFixed(1)} ms (${(med("client") / med("grpc")).toFixed(2)}x)`);
  } finally {
    await gw.stop();
    await emu.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
