// File content over files.v1.TransferService (proto/files/v1/transfer.proto),
// as Node streams.
//
// Upload is a client stream: a first message {spec: {path, mkdir_parents, ...}},
// then data chunks of about 1 MiB; half-closing commits, cancelling commits
// nothing. Download is a server stream: the first message carries the File
// metadata, the rest the data in order, each with its offset.
//
//   await client.uploadFile("report.csv", "reports/2026/report.csv", { mkdirParents: true });
//   await client.downloadFile("reports/2026/report.csv", "copy.csv");
//   const w = await client.open("notes/today.txt", "w");     // streamed as you write
//   w.write("hello\n"); const file = await w.close();         // commits
//   const r = await client.open("notes/today.txt", "r");     // streamed as you read
//   for await (const text of r) process.stdout.write(text);
//
// Memory stays bounded whatever the file size: a writer holds at most
// maxInFlight + 1 chunks, a reader its highWaterMark plus what grpc-js queues
// (16 messages of chunkSize).
import * as fs from "fs";
import * as path from "path";
import { once } from "events";
import { Readable, Writable, finished } from "stream";
import { pipeline } from "stream/promises";
import type { ClientReadableStream, ClientWritableStream, ServiceError } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { fill, toPlain } from "./convert";
import { RpcMethod, lookupType, serviceMethods } from "./descriptors";
import { CancelledError, DataLossError, FilesError, GatewayError, InvalidParameterError } from "./errors_base";
import { fromServiceError } from "./errors";
import { Caller, hasField, wrap } from "./resources";
import type { CallOptions } from "./types";
import type { FileModel } from "./gen/resources";
import type { Client } from "./client";

export const CHUNK_SIZE = 1 << 20;
/** Message size asked of the gateway for open() reads: keeps what grpc-js queues small. */
export const READ_CHUNK_SIZE = 256 << 10;

export type OpenMode = "r" | "rb" | "w" | "wb";

/** What to do at the destination, as TransferService's UploadSpec. */
export interface UploadSpecOptions {
  /** Create missing parent folders. */
  mkdirParents?: boolean;
  /** Stored as the file's provided_mtime. */
  providedMtime?: string | Date;
  /** Fail (and commit nothing) unless exactly this many bytes arrive. */
  expectedSize?: number;
  /** Lower-case hex MD5 of the whole content, checked before the commit. */
  expectedMd5?: string;
  /** CRC32C of the whole content, checked before the commit. */
  expectedCrc32c?: number;
  /** false: fail with ALREADY_EXISTS (DestinationExistsError) if the file exists. Default true. */
  overwrite?: boolean;
}

/** One progress report of an upload or download. */
export interface TransferProgress {
  direction: "upload" | "download";
  /** The Files.com path. */
  path: string;
  /**
   * Bytes moved so far: of an upload, handed to gRPC (for a resumable upload
   * counted from the start of the file, the persisted offset included); of a
   * download, received from the gateway (from the range's start).
   */
  bytes: number;
  /** Bytes the transfer will move in all, when known (the file's or range's size). */
  total?: number;
}

/** Progress reporting, on every transfer (also the 'progress' event of the streams). */
export interface ProgressOptions {
  /** Called after each chunk moved, with the bytes so far; exceptions it throws are ignored. */
  onProgress?: (progress: TransferProgress) => void;
}

export interface WriteOptions extends UploadSpecOptions, CallOptions, ProgressOptions {
  /** Bytes per message (default 1 MiB). */
  chunkSize?: number;
  /** Messages handed to gRPC and not yet sent before write() waits (default 4). */
  maxInFlight?: number;
  /** Text mode ("w"): the encoding of strings (default utf8). */
  encoding?: BufferEncoding;
}

export type UploadOptions = WriteOptions;

export interface ReadOptions extends CallOptions, ProgressOptions {
  /** First byte to read. */
  offset?: number;
  /** Bytes to read from offset (0 or absent: to the end). */
  length?: number;
  /** Preferred bytes per message (16 KiB .. 4 MiB; 0: the gateway's; default 256 KiB for open()). */
  chunkSize?: number;
  /** Text mode ("r"): the encoding (default utf8). */
  encoding?: BufferEncoding;
  /** Bytes the stream buffers ahead of the reader (default 1 MiB). */
  highWaterMark?: number;
}

export type DownloadOptions = ReadOptions;

const TRANSFER = "files.v1.TransferService";
let methods: Record<string, RpcMethod> | undefined;
function rpc(name: string): RpcMethod {
  if (!methods) methods = serviceMethods(TRANSFER);
  return methods[name];
}

type Plain = Record<string, unknown>;
type TransferClient = Client & Caller;

const CALL_OPTION_KEYS = ["timeoutMs", "metadata", "waitForReady", "apiKey", "sessionId", "workspaceId",
  "language"] as const;

/** The CallOptions among a transfer's options (signal is handled by the streams). */
export function callOptionsOf(o: CallOptions): CallOptions {
  const out: Record<string, unknown> = {};
  for (const key of CALL_OPTION_KEYS) if (o[key] !== undefined) out[key] = o[key];
  return out as CallOptions;
}

function report(emitter: Writable | Readable, onProgress: ProgressOptions["onProgress"], p: TransferProgress): void {
  emitter.emit("progress", p);
  if (!onProgress) return;
  try {
    onProgress(p);
  } catch {
    // A failing progress callback must not break the transfer.
  }
}

/** The UploadSpec message for a destination and options. */
export function uploadSpec(remote: string, o: UploadSpecOptions = {}): Plain {
  const mtime = o.providedMtime instanceof Date ? o.providedMtime.toISOString() : o.providedMtime;
  return fill(lookupType("files.v1.UploadSpec"), {
    path: remote,
    mkdir_parents: Boolean(o.mkdirParents),
    provided_mtime: mtime || undefined,
    expected_size: o.expectedSize,
    expected_md5: o.expectedMd5 ? o.expectedMd5.toLowerCase() : undefined,
    expected_crc32c: o.expectedCrc32c,
    overwrite: o.overwrite === false ? "OVERWRITE_POLICY_FAIL_IF_EXISTS" : "OVERWRITE_POLICY_UNSPECIFIED",
  }, "UploadSpec");
}

function fileModel(client: TransferClient, message: unknown): FileModel | undefined {
  if (!message) return undefined;
  return wrap(client, lookupType("files.v1.File"), message as Plain) as unknown as FileModel;
}

function onAbort(signal: AbortSignal | undefined, fn: () => void): void {
  if (!signal) return;
  if (signal.aborted) fn();
  else signal.addEventListener("abort", fn, { once: true });
}

// --- upload ----------------------------------------------------------------------

/**
 * A Writable whose writes stream to TransferService.Upload. end() commits:
 * 'finish' fires once the gateway answered, with the File in `file`. Destroying
 * it before (abort(), destroy(err), a failed pipeline) cancels the upload and
 * nothing is committed. "wb" takes Buffers / Uint8Arrays, "w" strings too.
 */
export class UploadStream extends Writable {
  /** The destination path. */
  readonly remote: string;
  /** The committed File, once 'finish' fired. */
  file: FileModel | undefined;
  /** The UploadResponse (file, md5, crc32c), once 'finish' fired. */
  result: Plain | undefined;
  /** Bytes written so far. */
  bytesWritten = 0;

  private readonly call: ClientWritableStream<Plain>;
  private readonly chunkSize: number;
  private readonly maxInFlight: number;
  private readonly text: boolean;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inFlight = 0;
  private waiting: ((err?: Error | null) => void) | undefined;
  private callDone = false;
  /** Why the upload failed, once it did. */
  failure: FilesError | undefined;
  private finalCallback: ((err?: Error | null) => void) | undefined;
  /** Bytes handed to gRPC, from the start of the file (a resumed upload starts at its offset). */
  bytesSent = 0;
  private readonly total: number | undefined;
  private readonly onProgress: ProgressOptions["onProgress"];
  private readonly finishResumable: boolean;

  /**
   * spec: a new upload's UploadSpec; or `resume` continues a resumable upload
   * (its id, the offset its data starts at, and whether to commit at the end).
   */
  constructor(private readonly client: TransferClient, spec: Plain | null, options: WriteOptions = {}, text = false,
    resume?: { uploadId: string; offset: number; finish: boolean; remote?: string; total?: number }) {
    const chunkSize = Math.floor(options.chunkSize ?? CHUNK_SIZE);
    if (!(chunkSize > 0)) throw new InvalidParameterError("chunkSize must be positive");
    super({ highWaterMark: chunkSize, decodeStrings: false, defaultEncoding: options.encoding || "utf8" });
    this.remote = resume ? resume.remote ?? `upload ${resume.uploadId}` : String(spec?.path);
    this.chunkSize = chunkSize;
    this.maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? 4));
    this.text = text;
    this.onProgress = options.onProgress;
    this.total = resume ? resume.total : options.expectedSize;
    this.finishResumable = Boolean(resume?.finish);
    this.bytesSent = resume ? resume.offset : 0;
    this.call = client.clientStream(rpc("Upload"), callOptionsOf(options), (err, value) => this.onDone(err, value));
    this.call.on("error", () => { /* reported through the callback */ });
    this.call.write(resume ? { upload_id: resume.uploadId, write_offset: resume.offset } : { spec });
    onAbort(options.signal, () => this.destroy(new CancelledError("the upload was aborted", { code: status.CANCELLED })));
  }

  private onDone(err: ServiceError | null, value?: Plain): void {
    this.callDone = true;
    if (err) {
      this.failure = fromServiceError(err);
    } else {
      this.result = toPlain(rpc("Upload").responseType, value || {});
      this.file = fileModel(this.client, (value || {}).file);
    }
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(this.failure);
    const final = this.finalCallback;
    this.finalCallback = undefined;
    if (final) {
      final(this.failure || (this.result ? null :
        new GatewayError(`the upload of ${this.remote} ended without an answer`)));
    }
  }

  private send(data: Buffer): void {
    this.inFlight++;
    this.call.write({ data }, () => {
      this.inFlight--;
      this.bytesSent += data.length;
      if (!this.destroyed) {
        report(this, this.onProgress, { direction: "upload", path: this.remote, bytes: this.bytesSent, total: this.total });
      }
      const waiting = this.waiting;
      if (waiting && this.inFlight < this.maxInFlight) {
        this.waiting = undefined;
        waiting(this.failure);
      }
    });
  }

  private take(n: number): Buffer {
    if (this.pending.length === 1 && this.pending[0].length === n) {
      const only = this.pending[0];
      this.pending = [];
      this.pendingBytes = 0;
      return only;
    }
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return n === all.length ? out : Buffer.from(out);
  }

  /** Writable.write; in mode "wb" a string is a TypeError, thrown at once. */
  write(chunk: unknown, encoding?: BufferEncoding | ((err?: Error | null) => void),
    cb?: (err?: Error | null) => void): boolean {
    if (typeof chunk === "string" && !this.text) {
      throw new TypeError("write() takes bytes in mode \"wb\" (open with \"w\" for text)");
    }
    return super.write(chunk, encoding as BufferEncoding, cb);
  }

  _write(chunk: unknown, encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.failure) return callback(this.failure);
    if (this.callDone) return callback(new GatewayError(`the upload of ${this.remote} ended before it was closed`));
    let data: Buffer;
    if (typeof chunk === "string") {
      if (!this.text) return callback(new TypeError("write() takes bytes in mode \"wb\" (open with \"w\" for text)"));
      data = Buffer.from(chunk, encoding);
    } else if (Buffer.isBuffer(chunk)) {
      data = chunk;
    } else if (chunk instanceof Uint8Array) {
      data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } else {
      return callback(new TypeError("write() takes a Buffer, a Uint8Array or (mode \"w\") a string"));
    }
    this.bytesWritten += data.length;
    if (data.length) {
      this.pending.push(data);
      this.pendingBytes += data.length;
    }
    while (this.pendingBytes >= this.chunkSize) this.send(this.take(this.chunkSize));
    if (this.inFlight >= this.maxInFlight) this.waiting = callback;
    else callback();
  }

  _final(callback: (err?: Error | null) => void): void {
    if (this.failure || this.callDone) {
      callback(this.failure || (this.result ? null : new GatewayError(`the upload of ${this.remote} ended early`)));
      return;
    }
    if (this.pendingBytes) this.send(this.take(this.pendingBytes));
    this.finalCallback = callback;
    if (this.finishResumable) this.call.write({ finish_upload: true });
    this.call.end();
  }

  _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (!this.callDone) this.call.cancel();
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(err || new CancelledError("the upload was aborted", { code: status.CANCELLED }));
    this.finalCallback = undefined;
    this.pending = [];
    callback(err);
  }

  /** Ends the stream, commits, and resolves to the File (rejects with the typed error). */
  close(): Promise<FileModel> {
    return new Promise((resolve, reject) => {
      finished(this, (err) => {
        if (err) reject(this.failure || err);
        else resolve(this.file as FileModel);
      });
      if (!this.writableEnded) this.end();
    });
  }

  /** Cancels the upload; nothing is committed. */
  abort(): void {
    this.destroy();
  }
}

// --- download --------------------------------------------------------------------

/**
 * A Readable over a TransferService.Download stream (Buffers; strings in mode
 * "r"). `metadata` is the File. cancel() stops the stream: it is destroyed with
 * a CancelledError, as destroy(err) would.
 */
export class DownloadStream extends Readable {
  readonly remote: string;
  /** The File, from the stream's first message. */
  metadata: FileModel | undefined;
  /** Bytes of content received from the gateway so far. */
  bytesReceived = 0;

  private readonly call: ClientReadableStream<Plain>;
  private readonly start: number;
  private readonly whole: boolean;
  private first = true;
  private ended = false;
  private readonly ready: Promise<void>;
  private settle!: (err?: Error) => void;
  private readonly onProgress: ProgressOptions["onProgress"];
  private readonly rangeLength: number;

  constructor(private readonly client: TransferClient, remote: string, options: ReadOptions = {}) {
    super({ highWaterMark: options.highWaterMark ?? CHUNK_SIZE });
    this.onProgress = options.onProgress;
    this.rangeLength = options.length || 0;
    const request = fill(lookupType("files.v1.DownloadRequest"), {
      path: remote, offset: options.offset || 0, length: options.length || 0, chunk_size: options.chunkSize || 0,
    }, "DownloadRequest");
    this.remote = remote;
    this.start = Number(request.offset || 0);
    this.whole = !request.offset && !request.length;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settle = (err?: Error) => (err ? reject(err) : resolve());
    });
    // A failure before the metadata rejects opened(); the stream's own 'error'
    // event would then have no listener yet.
    const quiet = () => { /* reported through opened() */ };
    this.on("error", quiet);
    this.ready.then(() => this.off("error", quiet), () => { /* observed by opened() */ });
    this.call = client.serverStream(rpc("Download"), request, callOptionsOf(options));
    this.call.on("data", (msg: Plain) => this.onMessage(msg));
    this.call.on("error", (err: ServiceError) => this.onError(err));
    this.call.on("end", () => this.onEnd());
    onAbort(options.signal, () => this.cancel());
  }

  /** Bytes this download will deliver, when known (the range's length, else the file's size from the offset). */
  private total(): number | undefined {
    const size = this.metadata?.size;
    if (typeof size !== "number" || !hasField(this.metadata!, "size")) return this.rangeLength || undefined;
    const rest = Math.max(0, size - this.start);
    return this.rangeLength ? Math.min(this.rangeLength, rest) : rest;
  }

  /** Resolves once the metadata arrived (rejects with the typed error of a failed start). */
  opened(): Promise<this> {
    return this.ready.then(() => this);
  }

  private fail(err: FilesError): void {
    this.ended = true;
    if (!this.call.destroyed) this.call.cancel();
    this.settle(err);
    this.destroy(err);
  }

  private onMessage(msg: Plain): void {
    if (this.destroyed) return;
    if (this.first) {
      this.first = false;
      this.metadata = fileModel(this.client, msg.metadata);
      this.settle();
    }
    const data = msg.data as Buffer | undefined;
    if (!data || !data.length) return;
    const offset = Number(typeof msg.offset === "object" && msg.offset ? (msg.offset as { toNumber(): number }).toNumber() : msg.offset);
    const expected = this.start + this.bytesReceived;
    if (offset !== expected) {
      this.fail(new DataLossError(`the download of ${this.remote} skipped from offset ${expected} to ${offset}`,
        { code: status.DATA_LOSS }));
      return;
    }
    this.bytesReceived += data.length;
    const more = this.push(data);
    report(this, this.onProgress, { direction: "download", path: this.remote, bytes: this.bytesReceived, total: this.total() });
    if (!more) this.call.pause();
  }

  private onError(err: ServiceError): void {
    if (this.ended || this.destroyed) return;
    this.fail(fromServiceError(err));
  }

  private onEnd(): void {
    if (this.ended || this.destroyed) return;
    if (this.first) {
      this.fail(new DataLossError(`the download of ${this.remote} ended without its metadata`, { code: status.DATA_LOSS }));
      return;
    }
    const size = this.metadata && hasField(this.metadata, "size") ? this.metadata.size : undefined;
    if (this.whole && typeof size === "number" && this.bytesReceived !== size) {
      this.fail(new DataLossError(`the download of ${this.remote} ended after ${this.bytesReceived} of ${size} bytes`,
        { code: status.DATA_LOSS }));
      return;
    }
    this.ended = true;
    this.push(null);
  }

  _read(): void {
    if (this.call.isPaused()) this.call.resume();
  }

  _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (!this.ended) {
      this.ended = true;
      this.call.cancel();
      this.settle(err || new CancelledError("the download was closed", { code: status.CANCELLED }));
    }
    callback(err);
  }

  /** Cancels the stream: reading on fails with CancelledError. */
  cancel(): void {
    if (this.destroyed) return;
    this.destroy(new CancelledError(`the download of ${this.remote} was cancelled`, { code: status.CANCELLED }));
  }
}

// --- helpers -----------------------------------------------------------------------

/** open(): see Client.open. */
export async function open(client: TransferClient, remote: string, mode: OpenMode,
  options: ReadOptions & WriteOptions = {}): Promise<DownloadStream | UploadStream> {
  if (mode === "r" || mode === "rb") {
    const stream = new DownloadStream(client, remote, { ...options, chunkSize: options.chunkSize ?? READ_CHUNK_SIZE });
    await stream.opened();
    if (mode === "r") stream.setEncoding(options.encoding || "utf8");
    return stream;
  }
  if (mode === "w" || mode === "wb") {
    return new UploadStream(client, uploadSpec(remote, options), options, mode === "w");
  }
  throw new InvalidParameterError(`mode must be "r", "rb", "w" or "wb", not ${JSON.stringify(mode)}`);
}

/** Client.uploadFile. */
export async function uploadFile(client: TransferClient, local: string | NodeJS.ReadableStream, remote: string,
  options: UploadOptions = {}): Promise<FileModel> {
  let source: NodeJS.ReadableStream;
  const o = { ...options };
  const chunkSize = o.chunkSize ?? CHUNK_SIZE;
  if (typeof local === "string") {
    const handle = await fs.promises.open(local, "r");
    try {
      const st = await handle.stat();
      // Lets the gateway plan its parts and refuse a short stream.
      if (o.expectedSize === undefined && st.isFile()) o.expectedSize = st.size;
    } catch (e) {
      await handle.close();
      throw e;
    }
    source = handle.createReadStream({ highWaterMark: chunkSize });
  } else {
    source = local;
  }
  const writer = new UploadStream(client, uploadSpec(remote, o), o, false);
  await pump(source, writer);
  return writer.file as FileModel;
}

/**
 * Pipes a source into an upload. A failing source rejects with its own error
 * (the upload is cancelled: nothing is committed); a failing upload with the
 * typed error.
 */
async function pump(source: NodeJS.ReadableStream, writer: UploadStream): Promise<void> {
  let sourceError: unknown;
  const onError = (e: unknown) => { sourceError = sourceError ?? e; };
  source.once("error", onError);
  try {
    await pipeline(source, writer);
  } catch (e) {
    throw sourceError ?? writer.failure ?? e;
  } finally {
    source.removeListener("error", onError);
  }
}

/** Client.downloadFile. */
export async function downloadFile(client: TransferClient, remote: string, local: string | NodeJS.WritableStream,
  options: DownloadOptions = {}): Promise<FileModel> {
  const reader = new DownloadStream(client, remote, options);
  await reader.opened();
  if (typeof local !== "string") {
    for await (const chunk of reader) {
      if (!local.write(chunk as Buffer)) await once(local as unknown as NodeJS.EventEmitter, "drain");
    }
    return reader.metadata as FileModel;
  }
  const dir = path.dirname(path.resolve(local));
  const tmp = path.join(dir, `.${path.basename(local)}.${process.pid}.${Date.now().toString(36)}.part`);
  try {
    await pipeline(reader, fs.createWriteStream(tmp));
    await fs.promises.rename(tmp, local);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  return reader.metadata as FileModel;
}

// --- resumable uploads ---------------------------------------------------------------

/** Where a resumable upload stands (TransferService.QueryUploadStatus). */
export interface ResumableStatus {
  uploadId: string;
  /** Bytes durably stored upstream (whole parts): the offset to resume from. */
  persistedSize: number;
  /** Whether the upload was committed. */
  complete: boolean;
  /** The committed File, once complete. */
  file?: FileModel;
}

/** What ResumableUpload.send takes besides the data. */
export interface ResumableSendOptions extends CallOptions, ProgressOptions {
  /**
   * Where in the file the data starts. Default: the persisted size (queried
   * first). A path or Buffer source is the whole file and is read from this
   * offset; a Readable holds the bytes from this offset on.
   */
  offset?: number;
  /** Commit after this data (default true); false leaves the upload open for another send. */
  finish?: boolean;
  /** Bytes per message (default 1 MiB). */
  chunkSize?: number;
  /** The file's whole size, for progress totals of a Readable source. */
  totalSize?: number;
}

/** Source of a resumable send: a local path, bytes, or a Readable. */
export type ResumableSource = string | Buffer | Uint8Array | NodeJS.ReadableStream;

/**
 * A resumable upload (TransferService.StartResumableUpload): the id survives
 * this process (persist it), each send() streams data from an offset, the
 * gateway keeps whole parts (persistedSize) when a stream breaks, and the
 * send with finish commits. Nothing appears at the destination before that.
 *
 *   const up = await client.startResumableUpload("big/data.bin", { mkdirParents: true });
 *   save(up.uploadId);
 *   await up.send("data.bin");                              // from the persisted offset, commits
 *   // later, another process: await client.resumableUpload(saved).send("data.bin");
 */
export class ResumableUpload {
  constructor(private readonly client: TransferClient, readonly uploadId: string, readonly remote?: string) {
    if (typeof uploadId !== "string" || !uploadId) throw new InvalidParameterError("uploadId must be a non-empty string");
  }

  /** How many bytes are durably stored, and the File once committed. */
  async status(options?: CallOptions): Promise<ResumableStatus> {
    const res = await this.client.unary(rpc("QueryUploadStatus"), { upload_id: this.uploadId }, options);
    const plain = toPlain(rpc("QueryUploadStatus").responseType, res);
    const out: ResumableStatus = {
      uploadId: this.uploadId, persistedSize: Number(plain.persisted_size || 0), complete: Boolean(plain.complete),
    };
    const file = fileModel(this.client, res.file);
    if (file) out.file = file;
    return out;
  }

  /**
   * Streams data from an offset (default: the persisted size) and, unless
   * finish is false, commits. Resolves to the status after it: with the File
   * when committed, else with the new persisted size. A failed or aborted
   * send keeps the upload resumable from its persisted size.
   */
  async send(source: ResumableSource, options: ResumableSendOptions = {}): Promise<ResumableStatus> {
    const { offset: given, finish = true, totalSize, ...rest } = options;
    const offset = given ?? (await this.status(callOptionsOf(rest))).persistedSize;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidParameterError(`offset must be a non-negative integer, not ${String(offset)}`);
    }
    let input: NodeJS.ReadableStream;
    let total = totalSize;
    if (typeof source === "string") {
      const handle = await fs.promises.open(source, "r");
      try {
        total = total ?? (await handle.stat()).size;
      } catch (e) {
        await handle.close();
        throw e;
      }
      if (offset > total) {
        await handle.close();
        throw new InvalidParameterError(`offset ${offset} is past the end of ${source} (${total} bytes)`);
      }
      input = handle.createReadStream({ start: offset, highWaterMark: rest.chunkSize ?? CHUNK_SIZE });
    } else if (source instanceof Uint8Array) {
      total = total ?? source.length;
      if (offset > source.length) {
        throw new InvalidParameterError(`offset ${offset} is past the end of the data (${source.length} bytes)`);
      }
      const bytes = Buffer.from(source.buffer, source.byteOffset + offset, source.byteLength - offset);
      const size = rest.chunkSize ?? CHUNK_SIZE;
      input = Readable.from((function* () {
        for (let p = 0; p < bytes.length; p += size) yield bytes.subarray(p, p + size);
      })());
    } else if (source && typeof (source as NodeJS.ReadableStream).pipe === "function") {
      input = source;
    } else {
      throw new InvalidParameterError("source must be a path, a Buffer / Uint8Array or a Readable");
    }
    const writer = new UploadStream(this.client, null, rest, false,
      { uploadId: this.uploadId, offset, finish, remote: this.remote, total });
    await pump(input, writer);
    const result = writer.result || {};
    const out: ResumableStatus = {
      uploadId: this.uploadId, persistedSize: Number(result.persisted_size || 0), complete: Boolean(writer.file),
    };
    if (writer.file) {
      out.file = writer.file;
      out.persistedSize = Number(writer.file.size || writer.bytesSent);
    }
    return out;
  }

  /**
   * A Writable continuing the upload at `offset` (the persisted size: query
   * status() first); end() commits unless finish is false, destroy() leaves
   * the upload resumable.
   */
  writer(offset: number, options: WriteOptions & { finish?: boolean } = {}): UploadStream {
    const { finish = true, ...rest } = options;
    return new UploadStream(this.client, null, rest, false, { uploadId: this.uploadId, offset, finish, remote: this.remote });
  }

  /** Abandons the upload: nothing appears at the destination; the id is unknown afterwards. */
  async cancel(options?: CallOptions): Promise<void> {
    await this.client.unary(rpc("CancelResumableUpload"), { upload_id: this.uploadId }, options);
  }
}

/** Client.startResumableUpload. */
export async function startResumableUpload(client: TransferClient, remote: string,
  options: UploadSpecOptions & CallOptions = {}): Promise<ResumableUpload> {
  const spec = uploadSpec(remote, options);
  const res = await client.unary(rpc("StartResumableUpload"), { spec }, callOptionsOf(options));
  return new ResumableUpload(client, String(res.upload_id), remote);
}
