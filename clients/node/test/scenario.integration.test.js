// Runs tests/clients/scenario.json with the Node client against files-gateway
// and files-emulator started from a build tree: one test per case, named after
// it (see tests/clients/README.md for the format).
//
//   FILESGW_BUILD_DIR=build node --test test/scenario.integration.test.js
//   FILESGW_SCENARIO_CASES=user_crud,download_cancel ...   (a subset)
//   FILESGW_SCENARIO_CONCURRENCY=1 ...                      (one case at a time; default 4)
"use strict";

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { once } = require("node:events");
const { pipeline } = require("node:stream/promises");
const { describe, test, before, after } = require("node:test");
const harness = require("./harness");

const SCENARIO = process.env.FILESGW_SCENARIO ||
  path.resolve(harness.PKG, "..", "..", "tests", "clients", "scenario.json");
const FORMAT = "files-gateway-client-scenario/1";
const VAR = /\$\{(\w+)\}/g;
const WHOLE_VAR = /^\$\{(\w+)\}$/;

const EXPECT_KEYS = new Set(["fields", "none", "count", "pages", "first_page_count", "sorted_by", "unique",
  "names", "same_as", "text", "max_bytes_received", "error", "persisted_size", "progress_final",
  "progress_calls_min"]);
const ERROR_KEYS = new Set(["class", "is_a", "type", "type_prefix", "grpc_code", "http_status", "title",
  "message_contains", "retry_delay_min"]);

function loadScenario() {
  const scenario = JSON.parse(fs.readFileSync(SCENARIO, "utf8"));
  if (scenario.format !== FORMAT) throw new Error(`${SCENARIO}: unknown format ${JSON.stringify(scenario.format)}`);
  return scenario;
}

/** A typo in the shared file (an op, expectation or gateway this runner does not know) fails loudly. */
function validate(scenario) {
  const problems = [];
  const names = new Set();
  for (const c of scenario.cases) {
    if (names.has(c.name)) problems.push(`case ${c.name} appears twice`);
    names.add(c.name);
    c.steps.forEach((step, n) => {
      const where = `${c.name} step ${n}`;
      if (typeof Case.prototype["op_" + step.op] !== "function") problems.push(`${where}: unknown op ${step.op}`);
      if (!((step.gateway || "default") in scenario.gateways)) problems.push(`${where}: unknown gateway ${step.gateway}`);
      for (const k of Object.keys(step.expect || {})) if (!EXPECT_KEYS.has(k)) problems.push(`${where}: unknown expectation ${k}`);
      for (const k of Object.keys((step.expect || {}).error || {})) {
        if (!ERROR_KEYS.has(k)) problems.push(`${where}: unknown error expectation ${k}`);
      }
    });
  }
  if (problems.length) throw new Error(`${SCENARIO}:\n  ${problems.join("\n  ")}`);
}

/** The servers and clients all cases share (started once). */
class Env {
  static async start(scenario, dir) {
    const fg = harness.loadPackage();
    const env = new Env();
    env.fg = fg;
    env.key = "node-scenario-" + crypto.randomBytes(4).toString("hex");
    env.run = "node" + crypto.randomBytes(4).toString("hex");
    env.servers = [];
    env.clients = {};
    try {
      const emu = await harness.startEmulator(dir, env.key);
      env.servers.push(emu);
      env.baseUrl = emu.baseUrl;
      await Promise.all(Object.entries(scenario.gateways).map(async ([name, spec]) => {
        let target;
        if (spec.unreachable) {
          target = await harness.unusedLoopbackTarget();
        } else {
          const key = spec.api_key === "valid" ? env.key : "not-" + env.key;
          const gw = await harness.startGateway(dir, env.baseUrl, key);
          env.servers.push(gw);
          target = gw.target;
        }
        env.clients[name] = fg.connect(target, { timeoutMs: 60000 });
      }));
    } catch (e) {
      await env.stop();
      throw e;
    }
    return env;
  }

  async stop() {
    for (const c of Object.values(this.clients || {})) c.close();
    await Promise.all((this.servers || []).map((s) => s.stop()));
  }

  /**
   * Runs fn holding the gateways a case uses besides "default": those exist for
   * cases that disturb gateway-wide state (a rate-limit pause, a slow upstream
   * call), so two such cases never overlap, and a case that left a pause behind
   * (cooldown) keeps its gateway until the pause is over.
   */
  async exclusive(names, fn) {
    this.locks = this.locks || new Map();
    const held = [];
    try {
      for (const name of [...new Set(names)].filter((n) => n !== "default").sort()) {
        let lock = this.locks.get(name);
        if (!lock) this.locks.set(name, (lock = { tail: Promise.resolve(), until: 0 }));
        let release;
        const previous = lock.tail;
        lock.tail = new Promise((resolve) => (release = resolve));
        await previous;
        const wait = lock.until - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        held.push(release);
      }
      return await fn();
    } finally {
      for (const release of held) release();
    }
  }

  cooldown(name, seconds) {
    this.locks = this.locks || new Map();
    let lock = this.locks.get(name);
    if (!lock) this.locks.set(name, (lock = { tail: Promise.resolve(), until: 0 }));
    lock.until = Math.max(lock.until, Date.now() + seconds * 1000);
  }

  logs() {
    return (this.servers || []).map((s) => `--- ${s.cmd}\n${s.tail.slice(-20).join("\n")}`).join("\n");
  }
}

class Abandon extends Error {}

/** Runs the steps of one case. */
class Case {
  constructor(env, c) {
    this.env = env;
    this.case = c;
    this.vars = { run: env.run };
    this.contents = {};
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "node-scenario-"));
  }

  // --- values --------------------------------------------------------------

  sub(value, extra) {
    const scope = { ...this.vars, ...(extra || {}) };
    const lookup = (name) => {
      if (!(name in scope)) throw new Error(`\${${name}} is not defined`);
      return scope[name];
    };
    if (typeof value === "string") {
      const whole = WHOLE_VAR.exec(value);
      if (whole) return lookup(whole[1]);
      return value.replace(VAR, (_, name) => String(lookup(name)));
    }
    if (Array.isArray(value)) return value.map((v) => this.sub(v, extra));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.sub(v, extra)]));
    }
    return value;
  }

  client(step) {
    const c = this.env.clients[step.gateway || "default"];
    if (!c) throw new Error(`no gateway named ${step.gateway}`);
    return c;
  }

  content(spec) {
    const data = crypto.randomBytes(spec.random_bytes);
    this.contents[spec.name] = data;
    return data;
  }

  localFile(data) {
    const file = path.join(this.tmp, "upload-" + crypto.randomBytes(6).toString("hex"));
    fs.writeFileSync(file, data);
    return file;
  }

  // --- running ---------------------------------------------------------------

  async run() {
    try {
      for (const [n, step] of this.case.steps.entries()) {
        const where = `step ${n} (${step.op})`;
        const expect = this.sub(step.expect || {});
        const op = this["op_" + step.op];
        if (!op) throw new Error(`${where}: unknown op ${step.op}`);
        let result;
        try {
          result = await op.call(this, step, expect);
        } catch (e) {
          if (!("error" in expect) || !(e instanceof this.env.fg.FilesError)) {
            const err = new Error(`${where} failed: ${e && e.stack || e}\n${this.env.logs()}`);
            err.cause = e;
            throw err;
          }
          this.checkError(where, e, expect.error);
          // A retry delay is gateway-wide state (the gateway paces every call
          // upstream until it passes): the gateway's next case waits it out.
          if (e.retryDelay) this.env.cooldown(step.gateway || "default", e.retryDelay);
          continue;
        }
        if ("error" in expect) {
          assert.fail(`${where}: expected ${JSON.stringify(expect.error)}, got ${describeResult(result)}`);
        }
        this.check(where, result, expect);
        for (const [name, field] of Object.entries(step.save || {})) this.vars[name] = toDict(result)[field];
      }
    } finally {
      fs.rmSync(this.tmp, { recursive: true, force: true });
    }
  }

  check(where, result, expect) {
    if (expect.none) assert.equal(result, undefined, `${where}: expected nothing`);
    if (expect.fields) {
      const got = toDict(result);
      for (const [k, v] of Object.entries(expect.fields)) {
        assert.deepEqual(got[k], v, `${where}: field ${k} of ${JSON.stringify(got)}`);
      }
    }
    if ("same_as" in expect) {
      const want = this.contents[expect.same_as];
      assert.equal(result.bytes.length, want.length, `${where}: size`);
      assert.equal(sha256(result.bytes), sha256(want), `${where}: content differs`);
    }
    if ("text" in expect) assert.equal(result.text, expect.text, where);
    if (expect.names) assert.deepEqual([...result].sort(), [...expect.names].sort(), where);
    for (const key of ["count", "pages", "first_page_count"]) {
      if (key in expect) assert.equal(result[key], expect[key], `${where}: ${key}`);
    }
    if (expect.sorted_by) {
      const values = result.items.map((i) => i[expect.sorted_by]);
      for (let i = 1; i < values.length; i++) {
        assert.ok(compareBytes(values[i - 1], values[i]) <= 0,
          `${where}: not sorted by ${expect.sorted_by} at ${i}: ${values[i - 1]} > ${values[i]}`);
      }
    }
    if (expect.unique) {
      const values = result.items.map((i) => i[expect.unique]);
      assert.equal(new Set(values).size, values.length, `${where}: repeated items`);
    }
    if ("persisted_size" in expect) assert.equal(result.persisted_size, expect.persisted_size, `${where}: persisted size`);
    if ("progress_final" in expect || "progress_calls_min" in expect) {
      const reports = result.reports || [];
      assert.ok(reports.length >= (expect.progress_calls_min ?? 1), `${where}: ${reports.length} progress reports`);
      for (let i = 1; i < reports.length; i++) {
        assert.ok(reports[i][0] >= reports[i - 1][0], `${where}: progress went back from ${reports[i - 1][0]} to ${reports[i][0]}`);
      }
      if ("progress_final" in expect) {
        assert.equal(reports[reports.length - 1][0], expect.progress_final, `${where}: last progress report`);
        for (const [, total] of reports) {
          assert.ok(total === undefined || total === expect.progress_final, `${where}: progress total ${total}`);
        }
      }
    }
    if ("max_bytes_received" in expect) {
      assert.ok(result.bytes_received < expect.max_bytes_received,
        `${where}: ${result.bytes_received} bytes received, expected fewer than ${expect.max_bytes_received}`);
    }
  }

  checkError(where, e, want) {
    const { errors } = this.env.fg;
    where = `${where}: ${e.name}: ${e.message} (type ${e.type}, ${e.grpcCode})`;
    if ("class" in want) assert.equal(e.constructor.name, want.class, where);
    for (const name of want.is_a || []) {
      const cls = errors.errorClass(name);
      assert.ok(cls, `${where}: no error class named ${name}`);
      assert.ok(e instanceof cls, `${where} is not a ${name}`);
    }
    if ("type" in want) assert.equal(e.type, want.type, where);
    if ("type_prefix" in want) assert.ok((e.type || "").startsWith(want.type_prefix), where);
    if ("grpc_code" in want) assert.equal(e.grpcCode, want.grpc_code, where);
    if ("http_status" in want) assert.equal(e.httpStatus, want.http_status, where);
    if ("title" in want) assert.equal(e.title, want.title, where);
    if ("message_contains" in want) {
      assert.ok((e.message || "").toLowerCase().includes(want.message_contains.toLowerCase()), where);
    }
    if ("retry_delay_min" in want) {
      assert.notEqual(e.retryDelay, undefined, `${where}: no retry delay`);
      assert.ok(e.retryDelay >= want.retry_delay_min, `${where}: retry delay ${e.retryDelay}`);
    }
  }

  // --- ops -------------------------------------------------------------------------

  action(step, fallback) {
    return this.client(step).resource(step.resource).action(step.action || fallback);
  }

  /** The per-call options a step asks for: timeout, and options {workspace_id, language}. */
  callOptions(step) {
    const options = {};
    if ("timeout" in step) options.timeoutMs = step.timeout * 1000;
    const o = this.sub(step.options || {});
    for (const key of Object.keys(o)) {
      if (key === "workspace_id") options.workspaceId = o.workspace_id;
      else if (key === "language") options.language = o.language;
      else throw new Error(`unknown per-call option ${key} in the scenario`);
    }
    return Object.keys(options).length ? options : undefined;
  }

  /** Transfer options: the call options plus, with progress: true, a recorder of [bytes, total]. */
  transferOptions(step, extra) {
    const options = { ...(this.callOptions(step) || {}), ...(extra || {}) };
    const reports = [];
    if (step.progress) options.onProgress = (p) => reports.push([p.bytes, p.total]);
    return { options, reports };
  }

  async op_call(step) {
    return this.action(step)(...this.sub(step.args || []), this.sub(step.params) || undefined, this.callOptions(step));
  }

  async op_create_many(step) {
    const action = this.action(step, "create");
    const results = new Array(step.count);
    let next = 0;
    const worker = async () => {
      while (next < step.count) {
        const i = next++;
        results[i] = await action(this.sub(step.params, { i }));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, step.parallel || 1) }, worker));
    return results;
  }

  async op_list(step) {
    const action = this.action(step, "list");
    const args = this.sub(step.args || []);
    const params = this.sub(step.params) || undefined;
    const items = [];
    const options = this.callOptions(step);
    for await (const item of action(...args, params, options)) items.push({ ...item });
    const page = await action(...args, params, options);
    const first = page.length;
    let pages = 1;
    let manual = page.length;
    while (page.hasNextPage) {
      await page.loadNextPage();
      pages++;
      manual += page.length;
    }
    assert.equal(manual, items.length, "manual and auto paging disagree");
    return { items, count: items.length, pages, first_page_count: first };
  }

  async op_upload_file(step) {
    const data = this.content(step.content);
    const { options, reports } = this.transferOptions(step, { mkdirParents: Boolean(step.mkdir_parents) });
    const model = await this.client(step).uploadFile(this.localFile(data), this.sub(step.remote), options);
    return { model, reports };
  }

  async op_download_file(step) {
    const local = path.join(this.tmp, "download-" + crypto.randomBytes(6).toString("hex"));
    const { options, reports } = this.transferOptions(step);
    const model = await this.client(step).downloadFile(this.sub(step.remote), local, options);
    const bytes = fs.readFileSync(local);
    fs.unlinkSync(local);
    return { model, bytes, reports };
  }

  async op_resumable_upload(step) {
    // start; a first stream of first_bytes without finishing; query; a handle
    // made from the upload_id alone resumes from the persisted offset and commits.
    const client = this.client(step);
    const data = this.content(step.content);
    const local = this.localFile(data);
    const up = await client.startResumableUpload(this.sub(step.remote),
      { mkdirParents: Boolean(step.mkdir_parents), expectedSize: data.length });
    const first = await up.send(data.subarray(0, step.first_bytes), { offset: 0, finish: false });
    assert.equal(first.complete, false);
    assert.equal(first.file, undefined);
    const status = await up.status();
    assert.equal(status.persistedSize, first.persistedSize);
    assert.equal(status.complete, false);
    const again = client.resumableUpload(up.uploadId);   // e.g. after a restart
    const reports = [];
    const done = await again.send(local, { onProgress: (p) => reports.push([p.bytes, p.total]) });
    assert.equal(done.complete, true);
    assert.ok(reports[0][0] - status.persistedSize <= 1 << 20, `first report ${reports[0][0]}`);
    assert.deepEqual(reports[reports.length - 1], [data.length, data.length]);
    assert.equal((await again.status()).complete, true);
    return { model: done.file, persisted_size: status.persistedSize };
  }

  async op_resumable_cancel(step) {
    // start; send the content without finishing; cancel; query (expected to fail).
    const client = this.client(step);
    const data = this.content(step.content);
    const up = await client.startResumableUpload(this.sub(step.remote), { mkdirParents: true });
    await up.send(data, { offset: 0, finish: false });
    await up.cancel();
    return up.status();
  }


  async op_open_write(step) {
    const client = this.client(step);
    const mode = step.mode;
    let pieces;
    if (mode === "w") {
      pieces = this.sub(step.text);
    } else {
      const data = this.content(step.content);
      pieces = [];
      for (let pos = 0, k = 0; pos < data.length; k++) {
        const n = step.write_sizes[k % step.write_sizes.length];
        pieces.push(data.subarray(pos, pos + n));
        pos += n;
      }
    }
    const remote = this.sub(step.remote);
    const w = await client.open(remote, mode, { mkdirParents: Boolean(step.mkdir_parents) });
    if (step.abort) {
      // The block ends in an exception: a failed pipeline destroys the writer.
      await assert.rejects(pipeline(async function* () {
        yield* pieces;
        throw new Abandon("abandoned");
      }, w), Abandon);
      assert.ok(w.destroyed, "the abandoned writer is destroyed");
      return undefined;
    }
    for (const p of pieces) {
      if (!w.write(p)) await once(w, "drain");
    }
    return w.close();
  }

  async op_open_read(step) {
    const stream = await this.client(step).open(this.sub(step.remote), step.mode);
    const parts = [];
    for await (const chunk of stream) parts.push(chunk);
    return step.mode === "r" ? { text: parts.join("") } : { bytes: Buffer.concat(parts) };
  }

  async op_list_for(step) {
    const names = [];
    for await (const entry of this.client(step).listFor(this.sub(step.path))) names.push(entry.display_name);
    return names;
  }

  async op_download_cancel(step, expect) {
    const stream = await this.client(step).open(this.sub(step.remote), "rb");
    const head = await readExactly(stream, step.read_bytes);
    assert.equal(head.length, step.read_bytes);
    stream.cancel();
    try {
      // Reading on fails.
      for await (const chunk of stream) void chunk;
    } finally {
      assert.ok(stream.bytesReceived < (expect.max_bytes_received ?? 2 ** 62),
        `${stream.bytesReceived} bytes received`);
    }
    return { bytes_received: stream.bytesReceived };
  }

  async op_inject_fault(step) {
    return harness.emulatorControl(this.env.baseUrl, this.env.key, "faults", this.sub(step.rule));
  }
}

/** Reads exactly n bytes from a binary Readable (fewer only at its end). */
async function readExactly(stream, n) {
  const parts = [];
  let got = 0;
  while (got < n) {
    const chunk = stream.read();
    if (chunk !== null) {
      const need = n - got;
      if (chunk.length > need) {
        stream.unshift(chunk.subarray(need));
        parts.push(chunk.subarray(0, need));
        got = n;
      } else {
        parts.push(chunk);
        got += chunk.length;
      }
      continue;
    }
    if (stream.readableEnded || stream.destroyed) break;
    await new Promise((resolve, reject) => {
      const done = (err) => {
        stream.off("readable", done);
        stream.off("end", done);
        stream.off("error", done);
        if (err instanceof Error) reject(err);
        else resolve();
      };
      stream.on("readable", done);
      stream.on("end", done);
      stream.on("error", done);
    });
  }
  return Buffer.concat(parts);
}

function toDict(result) {
  if (result && result.model) return { ...result.model };
  return { ...result };
}

function describeResult(result) {
  try {
    return JSON.stringify(result && result.bytes ? { ...result, bytes: `<${result.bytes.length} bytes>` } : result);
  } catch {
    return String(result);
  }
}

function sha256(b) {
  return crypto.createHash("sha256").update(b).digest("hex");
}

function compareBytes(a, b) {
  if (typeof a === "string" && typeof b === "string") return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : a > b ? 1 : 0;
}

// --- the tests ----------------------------------------------------------------------

const scenario = loadScenario();
validate(scenario);
const only = (process.env.FILESGW_SCENARIO_CASES || "").split(",").filter(Boolean);
const skip = harness.skipReason();
const concurrency = Number(process.env.FILESGW_SCENARIO_CONCURRENCY || 4);

describe("scenario", { concurrency, skip }, () => {
  let env;
  before(async () => {
    env = await Env.start(scenario, harness.buildDir());
  });
  after(async () => {
    if (env) await env.stop();
  });
  for (const c of scenario.cases) {
    if (only.length && !only.includes(c.name)) continue;
    test(c.name, async () => {
      await env.exclusive(c.steps.map((s) => s.gateway || "default"), () => new Case(env, c).run());
    });
  }
});
