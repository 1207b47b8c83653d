// Starts files-emulator and files-gateway from a CMake build tree for the
// Node client's tests, and reaches the emulator's control endpoint.
//
// The servers listen on port 0 and say where in a JSON line on stdout; the
// rest of their output is drained (a full pipe would stall them) and the last
// lines kept for a failure report.
"use strict";

const fs = require("fs");
const net = require("net");
const path = require("path");
const { spawn } = require("child_process");

const READY_TIMEOUT_MS = 30000;
const PKG = path.resolve(__dirname, "..");

/** The build tree holding emulator/files-emulator and server/files-gateway, or undefined. */
function buildDir() {
  const candidates = [process.env.FILESGW_BUILD_DIR, path.resolve(PKG, "..", "..", "build")];
  for (const dir of candidates) {
    if (dir && fs.existsSync(path.join(dir, "server", "files-gateway")) &&
        fs.existsSync(path.join(dir, "emulator", "files-emulator"))) {
      return dir;
    }
  }
  return undefined;
}

/** Why the integration tests cannot run here, or undefined when they can. */
function skipReason() {
  if (buildDir()) return undefined;
  const why = "no files-gateway / files-emulator build: set FILESGW_BUILD_DIR to a CMake build tree " +
    "(cmake --build BUILD --target files-gateway files-emulator)";
  // CTest sets FILESGW_REQUIRE_SERVERS: there a missing server is a failure, not a skip.
  if (process.env.FILESGW_REQUIRE_SERVERS) throw new Error(why);
  return why;
}

/**
 * The package under test: dist/ beside this folder, or FILESGW_NODE_PACKAGE
 * (in the consumer project: "files-gateway", as installed from the tarball).
 */
function loadPackage() {
  return require(process.env.FILESGW_NODE_PACKAGE ? require.resolve(process.env.FILESGW_NODE_PACKAGE, { paths: [PKG] })
    : path.join(PKG, "dist"));
}

/** The installed package's folder when FILESGW_NODE_PACKAGE names one, else undefined. */
function installedPackageDir() {
  const name = process.env.FILESGW_NODE_PACKAGE;
  if (!name) return undefined;
  return path.dirname(require.resolve(`${name}/package.json`, { paths: [PKG] }));
}

/** One child process with a JSON ready line. */
class Server {
  constructor(cmd, args, ready, env) {
    this.cmd = cmd;
    this.tail = [];
    this.proc = spawn(cmd, args, { env: env || process.env, stdio: ["ignore", "pipe", "pipe"] });
    this.exited = new Promise((resolve) => this.proc.once("exit", (code, signal) => {
      this.tail.push(`[${path.basename(cmd)} exited: ${signal || `code ${code}`}]`);
      resolve();
    }));
    this.ready = new Promise((resolve, reject) => {
      let buffered = "";
      let done = false;
      const timer = setTimeout(() => finish(new Error("no ready line within 30 s")), READY_TIMEOUT_MS);
      const finish = (err, doc) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) {
          this.stop();
          reject(new Error(`${cmd} did not become ready: ${err.message}\n${this.tail.join("\n")}`));
        } else {
          resolve(doc);
        }
      };
      const onLine = (line) => {
        this.tail.push(line);
        if (this.tail.length > 200) this.tail.shift();
        if (done) return;
        try {
          const doc = JSON.parse(line);
          if (doc && typeof doc === "object" && ready(doc)) finish(null, doc);
        } catch {
          // not JSON: a plain log line
        }
      };
      const reader = (stream) => {
        stream.setEncoding("utf8");
        stream.on("data", (text) => {
          buffered += text;
          let nl;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            onLine(buffered.slice(0, nl));
            buffered = buffered.slice(nl + 1);
          }
        });
      };
      reader(this.proc.stdout);
      reader(this.proc.stderr);
      this.proc.once("exit", (code, signal) => finish(new Error(`exited (${code ?? signal})`)));
      this.proc.once("error", (e) => finish(e));
    });
  }

  async stop() {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill("SIGTERM");
    const killer = setTimeout(() => this.proc.kill("SIGKILL"), 30000);
    await this.exited;
    clearTimeout(killer);
  }
}

async function startEmulator(dir, apiKey) {
  const s = new Server(path.join(dir, "emulator", "files-emulator"),
    ["--listen", "127.0.0.1:0", "--api-key", apiKey], (d) => "base_url" in d);
  s.info = await s.ready;
  s.baseUrl = s.info.base_url;
  return s;
}

async function startGateway(dir, baseUrl, apiKey, extraFlags = []) {
  const s = new Server(path.join(dir, "server", "files-gateway"),
    ["--listen", "127.0.0.1:0", "--base-url", baseUrl, "--max-retries", "0", ...extraFlags],
    (d) => d.msg === "listening", { ...process.env, FILES_API_KEY: apiKey });
  s.info = await s.ready;
  s.target = `127.0.0.1:${s.info.port}`;
  return s;
}

/** A loopback address where nothing listens (the port was free a moment ago). */
function unusedLoopbackTarget() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(`127.0.0.1:${port}`));
    });
  });
}

/**
 * Calls /__emulator/<what> (faults, reset, ...) with the emulator's API key
 * (control endpoints need it) and returns the decoded answer.
 */
async function emulatorControl(baseUrl, apiKey, what, body, method) {
  const res = await fetch(`${baseUrl}/__emulator/${what}`, {
    method: method || (body === undefined ? "GET" : "POST"),
    headers: { "Content-Type": "application/json", "X-FilesAPI-Key": apiKey },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`emulator ${what}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

module.exports = {
  buildDir, skipReason, loadPackage, installedPackageDir, Server, startEmulator, startGateway, unusedLoopbackTarget,
  emulatorControl, PKG,
};
