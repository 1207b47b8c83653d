// The TransferService contract against an in-process fake: what the streams
// send (spec first, data in chunks, half-close commits, destroy cancels) and
// how they treat what comes back (metadata first, offsets, short streams).
"use strict";

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { once } = require("node:events");
const { pipeline } = require("node:stream/promises");
const { test, before, after } = require("node:test");
const grpc = require("@grpc/grpc-js");
const fake = require("./fake");
const harness = require("./harness");

const fg = harness.loadPackage();
const { errors } = fg;
const convert = require(path.join(fake.dist, "convert"));
const lookup = fake.descriptors.lookupType;

const uploads = [];   // {spec, chunks: [Buffer], ended, cancelled}
const files = new Map([["files/a.bin", crypto.randomBytes(700000)]]);
const cancelledDownloads = [];
const resumable = [];   // StartResumableUpload / CancelResumableUpload calls
let server;
let client;
let tmp;

function plain(type, msg) {
  return convert.toPlain(lookup(type), msg);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "node-transfer-"));
  server = await fake.startServer({
    "files.v1.TransferService": {
      Upload(call, callback) {
        const u = { spec: undefined, chunks: [], ended: false, cancelled: false };
        uploads.push(u);
        call.on("data", (m) => {
          const msg = plain("files.v1.UploadRequest", m);
          if (msg.spec) u.spec = msg.spec;
          if (msg.upload_id) {
            u.uploadId = msg.upload_id;
            u.offset = msg.write_offset;
          }
          if (msg.finish_upload) u.finish = true;
          if (msg.data && msg.data.length) u.chunks.push(msg.data);
        });
        call.on("cancelled", () => { u.cancelled = true; });
        // grpc-js ends a cancelled stream too, just before it says 'cancelled'.
        call.on("end", () => setTimeout(() => {
          if (call.cancelled || u.cancelled) return;
          u.ended = true;
          const data = Buffer.concat(u.chunks);
          if (u.uploadId) {
            // A resumable stream: commits with finish_upload, else keeps what it got.
            if (!u.finish) {
              callback(null, { persisted_size: u.offset + data.length });
              return;
            }
            callback(null, { file: { path: `resumable/${u.uploadId}`, size: u.offset + data.length, type: "file" } });
            return;
          }
          if (u.spec.path.startsWith("refuse/")) {
            callback(fake.richStatus({ code: grpc.status.NOT_FOUND, message: "Parent folder not found",
              type: "not-found/folder-not-found", httpStatus: 404 }));
            return;
          }
          files.set(u.spec.path, data);
          callback(null, { file: { path: u.spec.path, size: data.length, type: "file" }, crc32c: 7 });
        }, 20));
      },
      StartResumableUpload(call, callback) {
        const req = plain("files.v1.StartResumableUploadRequest", call.request);
        resumable.push({ start: req.spec.path, metadata: call.metadata.getMap() });
        callback(null, { upload_id: "up-1" });
      },
      QueryUploadStatus(call, callback) {
        const req = plain("files.v1.QueryUploadStatusRequest", call.request);
        if (req.upload_id !== "up-1") {
          callback(fake.richStatus({ code: grpc.status.NOT_FOUND, message: "unknown upload_id", reason: "UPLOAD_NOT_FOUND",
            domain: "files-gateway" }));
          return;
        }
        callback(null, { persisted_size: 5, complete: false });
      },
      CancelResumableUpload(call, callback) {
        resumable.push({ cancel: plain("files.v1.CancelResumableUploadRequest", call.request).upload_id });
        callback(null, {});
      },
      Download(call) {
        const req = plain("files.v1.DownloadRequest", call.request);
        call.on("cancelled", () => cancelledDownloads.push(req.path));
        const data = files.get(req.path);
        if (!data) {
          call.emit("error", fake.richStatus({ code: grpc.status.NOT_FOUND, message: "Not Found",
            type: "not-found/file-not-found", httpStatus: 404 }));
          return;
        }
        const size = req.path === "files/short.bin" ? data.length + 10 : data.length;
        call.write({ metadata: { path: req.path, size, type: "file" } });
        const chunk = req.chunk_size || 65536;
        let offset = req.offset || 0;
        const end = req.length ? offset + req.length : data.length;
        const pump = () => {
          while (offset < end) {
            if (call.cancelled) return;
            const n = Math.min(chunk, end - offset);
            const at = req.path === "files/gap.bin" && offset > 0 ? offset + 1 : offset;
            const more = call.write({ offset: at, data: data.subarray(offset, offset + n) });
            offset += n;
            if (!more) {
              call.once("drain", pump);
              return;
            }
          }
          call.end();
        };
        pump();
      },
    },
  });
  client = fg.connect(server.target);
});

after(async () => {
  client.close();
  await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("uploadFile: spec first with the size, then chunks of at most chunkSize; half-close commits", async () => {
  const data = crypto.randomBytes(2.5 * 65536);
  const local = path.join(tmp, "up.bin");
  fs.writeFileSync(local, data);
  const file = await client.uploadFile(local, "files/up.bin", { mkdirParents: true, chunkSize: 65536, overwrite: false });
  assert.deepEqual({ ...file }, { path: "files/up.bin", size: data.length, type: "file" });
  const u = uploads.at(-1);
  assert.equal(u.spec.path, "files/up.bin");
  assert.equal(u.spec.mkdir_parents, true);
  assert.equal(u.spec.expected_size, data.length);
  assert.equal(u.spec.overwrite, "OVERWRITE_POLICY_FAIL_IF_EXISTS");
  assert.deepEqual(u.chunks.map((c) => c.length), [65536, 65536, 32768]);
  assert.ok(Buffer.concat(u.chunks).equals(data));
  assert.ok(u.ended);
});

test("open wb: uneven writes arrive whole and in order; close() resolves to the File", async () => {
  const data = crypto.randomBytes(300000);
  const w = await client.open("files/w.bin", "wb", { chunkSize: 100000, maxInFlight: 1 });
  for (let pos = 0, k = 0; pos < data.length; k++) {
    const n = [1, 70000, 4096][k % 3];
    if (!w.write(data.subarray(pos, pos + n))) await once(w, "drain");
    pos += n;
  }
  const file = await w.close();
  assert.equal(file.size, data.length);
  assert.equal(w.file, file);
  assert.equal(w.result.crc32c, 7);
  const u = uploads.at(-1);
  assert.ok(u.chunks.every((c) => c.length <= 100000));
  assert.ok(Buffer.concat(u.chunks).equals(data));
  const w2 = await client.open("files/x.bin", "wb");
  assert.throws(() => w2.write("text"), TypeError);
  w2.abort();
});

test("open w: text in, UTF-8 out", async () => {
  const w = await client.open("files/t.txt", "w");
  w.write("é and 漢字\n");
  w.write("done\n");
  await w.close();
  assert.equal(files.get("files/t.txt").toString("utf8"), "é and 漢字\ndone\n");
});

test("a destroyed writer cancels the call and commits nothing", async () => {
  const before = uploads.length;
  const w = await client.open("files/abandoned.bin", "wb");
  await assert.rejects(pipeline(async function* () {
    yield Buffer.alloc(1000);
    throw new Error("abandon");
  }, w), /abandon/);
  for (let i = 0; i < 50 && !uploads[before]?.cancelled; i++) await new Promise((r) => setTimeout(r, 20));
  const u = uploads[before];
  assert.ok(u.cancelled, "the gateway saw the cancellation");
  assert.equal(u.ended, false, "never half-closed");
  assert.ok(!files.has("files/abandoned.bin"));
  const w2 = await client.open("files/abandoned2.bin", "wb");
  w2.write(Buffer.alloc(10));
  w2.abort();
  assert.ok(w2.destroyed);
});

test("a refused upload rejects close() with the typed error", async () => {
  const w = await client.open("refuse/x.bin", "wb");
  w.write(Buffer.alloc(10));
  await assert.rejects(w.close(), errors.FolderNotFoundError);
});

test("download: metadata first, data in order, ranges", async () => {
  const r = await client.open("files/a.bin", "rb", { chunkSize: 50000 });
  assert.equal(r.metadata.size, 700000);
  const parts = [];
  for await (const c of r) parts.push(c);
  assert.ok(Buffer.concat(parts).equals(files.get("files/a.bin")));
  assert.equal(r.bytesReceived, 700000);
  const ranged = await client.open("files/a.bin", "rb", { offset: 1000, length: 5000 });
  const got = [];
  for await (const c of ranged) got.push(c);
  assert.ok(Buffer.concat(got).equals(files.get("files/a.bin").subarray(1000, 6000)));
  const local = path.join(tmp, "down.bin");
  const meta = await client.downloadFile("files/a.bin", local);
  assert.equal(meta.size, 700000);
  assert.ok(fs.readFileSync(local).equals(files.get("files/a.bin")));
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith(".part")), []);
});

test("download failures: missing file at open, short stream and offset gap are DataLossError", async () => {
  await assert.rejects(client.open("files/none.bin", "rb"), errors.FileNotFoundError);
  await assert.rejects(client.downloadFile("files/none.bin", path.join(tmp, "none")), errors.FileNotFoundError);
  assert.ok(!fs.existsSync(path.join(tmp, "none")));
  files.set("files/short.bin", crypto.randomBytes(1000));
  files.set("files/gap.bin", crypto.randomBytes(600000));
  for (const name of ["files/short.bin", "files/gap.bin"]) {
    const r = await client.open(name, "rb");
    await assert.rejects(async () => { for await (const c of r) void c; }, errors.DataLossError, name);
  }
});

test("cancel() stops the stream: reading on fails with CancelledError, the gateway sees it", async () => {
  files.set("files/big.bin", crypto.randomBytes(8 << 20));
  const r = await client.open("files/big.bin", "rb", { chunkSize: 65536, highWaterMark: 65536 });
  const first = await new Promise((resolve) => r.once("readable", () => resolve(r.read())));
  assert.ok(first.length > 0);
  r.cancel();
  await assert.rejects(async () => { for await (const c of r) void c; }, errors.CancelledError);
  assert.ok(r.bytesReceived < 4 << 20, `${r.bytesReceived} bytes received`);
  for (let i = 0; i < 50 && !cancelledDownloads.includes("files/big.bin"); i++) await new Promise((res) => setTimeout(res, 20));
  assert.ok(cancelledDownloads.includes("files/big.bin"));
});

test("progress: uploads and downloads report growing byte counts ending at the size, as callbacks and events", async () => {
  const data = crypto.randomBytes(2.5 * 65536);
  const local = path.join(tmp, "progress.bin");
  fs.writeFileSync(local, data);
  const up = [];
  await client.uploadFile(local, "files/progress.bin", { chunkSize: 65536, onProgress: (p) => up.push([p.direction, p.bytes, p.total]) });
  assert.deepEqual(up, [["upload", 65536, data.length], ["upload", 131072, data.length], ["upload", 163840, data.length]]);
  const down = [];
  const events = [];
  const r = await client.open("files/progress.bin", "rb", { chunkSize: 65536, onProgress: (p) => down.push(p.bytes) });
  r.on("progress", (p) => events.push(p.total));
  for await (const chunk of r) void chunk;
  assert.deepEqual(down, [65536, 131072, 163840]);
  assert.deepEqual(events, [data.length, data.length, data.length]);
  // A throwing callback does not break the transfer.
  await client.downloadFile("files/progress.bin", path.join(tmp, "p.bin"), { onProgress: () => { throw new Error("x"); } });
  assert.ok(fs.readFileSync(path.join(tmp, "p.bin")).equals(data));
});

test("the JS SDK's names: files.uploadFile(destination, source), uploadData, file.downloadToString", async () => {
  const local = path.join(tmp, "sdk.txt");
  fs.writeFileSync(local, "from the SDK's argument order");
  const file = await client.files.uploadFile("files/sdk.txt", local, { mkdir_parents: true });
  assert.equal(file.path, "files/sdk.txt");
  assert.equal(uploads.at(-1).spec.mkdir_parents, true);
  const data = await client.files.uploadData("files/data.txt", "héllo");
  assert.equal(data.size, Buffer.byteLength("héllo"));
  assert.equal(uploads.at(-1).spec.expected_size, Buffer.byteLength("héllo"));
  assert.equal(await data.downloadToString(), "héllo");
  await assert.rejects(client.files.uploadFile("files/x", local, { no_such: 1 }), errors.InvalidParameterError);
});

test("resumable: start, status, send from the persisted offset with finish_upload, cancel", async () => {
  const up = await client.startResumableUpload("big/r.bin", { mkdirParents: true, workspaceId: 3 });
  assert.equal(up.uploadId, "up-1");
  assert.equal(resumable.at(-1).start, "big/r.bin");
  assert.equal(resumable.at(-1).metadata["x-files-workspace-id"], "3");
  assert.deepEqual(await up.status(), { uploadId: "up-1", persistedSize: 5, complete: false });
  // A path source is the whole file, read from the persisted offset (5).
  const local = path.join(tmp, "r.bin");
  const data = crypto.randomBytes(200000);
  fs.writeFileSync(local, data);
  const reports = [];
  const done = await up.send(local, { chunkSize: 65536, onProgress: (p) => reports.push(p.bytes) });
  const u = uploads.at(-1);
  assert.equal(u.uploadId, "up-1");
  assert.equal(u.offset, 5);
  assert.ok(u.finish, "finish_upload sent");
  assert.ok(Buffer.concat(u.chunks).equals(data.subarray(5)));
  assert.equal(reports[0], 5 + 65536);
  assert.equal(reports.at(-1), data.length);
  assert.equal(done.complete, true);
  assert.equal(done.file.size, data.length);
  // finish: false leaves it open; the answer carries the persisted size.
  const open = await client.resumableUpload("up-1").send(Buffer.from("abcdef"), { offset: 2, finish: false });
  assert.deepEqual({ complete: open.complete, persistedSize: open.persistedSize }, { complete: false, persistedSize: 6 });
  assert.ok(!uploads.at(-1).finish);
  assert.equal(Buffer.concat(uploads.at(-1).chunks).toString(), "cdef");
  await client.cancelResumableUpload("up-1");
  assert.equal(resumable.at(-1).cancel, "up-1");
  await assert.rejects(client.queryUploadStatus("gone"), errors.NotFoundError);
  await assert.rejects(up.send(Buffer.from("ab"), { offset: 3 }), errors.InvalidParameterError);
});
