// connect() and the Client: one gRPC channel to files-gateway, every resource
// as a property, and the file transfer helpers.
//
//   import { connect } from "files-gateway";
//   const client = connect("127.0.0.1:50051");
//   for await (const user of client.users.list({ per_page: 1000 })) console.log(user.username);
import * as fs from "fs";
import * as grpc from "@grpc/grpc-js";
import type * as protobuf from "protobufjs";
import { RpcMethod, SdkMethod } from "./descriptors";
import { CancelledError, InvalidParameterError } from "./errors_base";
import { fromServiceError } from "./errors";
import { Caller, Resource } from "./resources";
import * as transfer from "./transfer";
import "./file_extras";
import { RESOURCE_ATTRIBUTES, Resources, ResourcesByName } from "./gen/resources";
import type { CallOptions, ListPromise } from "./types";
import type { FileModel } from "./gen/resources";

export const DEFAULT_TARGET = "127.0.0.1:50051";
const MIB = 1 << 20;

export interface KeepaliveOptions {
  /** Milliseconds between HTTP/2 pings (keep it at or above the gateway's minimum, 5 min by default without calls). */
  timeMs: number;
  /** How long to wait for a ping's answer (default 20 s). */
  timeoutMs?: number;
  /** Also ping while no call is in flight. */
  permitWithoutCalls?: boolean;
}

export interface ConnectOptions {
  /** Use TLS (implied by rootCerts / certChain). */
  tls?: boolean;
  /** PEM roots (a Buffer, or a path); default: the system's. */
  rootCerts?: Buffer | string;
  /** PEM key and certificate chain (Buffers or paths) for mutual TLS. */
  privateKey?: Buffer | string;
  certChain?: Buffer | string;
  /** A bearer token sent as "authorization: Bearer <token>" on every call. */
  token?: string;
  /** Default deadline of unary calls in ms (default 30000; null: none). */
  timeoutMs?: number | null;
  /** Default deadline of uploads and downloads in ms (default: none, keepalive detects dead peers). */
  transferTimeoutMs?: number | null;
  /** HTTP/2 keepalive pings (default: none). */
  keepalive?: KeepaliveOptions;
  /** The largest message accepted either way (default 64 MiB: a 1,000-item page can pass 4 MiB). */
  maxMessageBytes?: number;
  /** More grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  /** Metadata sent on every call. */
  metadata?: Record<string, string | string[]>;
  /** Defaults of the per-call options of the same names (see CallOptions). */
  apiKey?: string;
  sessionId?: string;
  workspaceId?: number;
  language?: string;
}

/** Per-call options sent as metadata, and their keys. */
const METADATA_OPTIONS = {
  apiKey: "x-files-api-key",
  sessionId: "x-files-session-id",
  workspaceId: "x-files-workspace-id",
  language: "x-files-language",
} as const;
type MetadataOption = keyof typeof METADATA_OPTIONS;

/** The metadata value of a per-call option, checked. */
function metadataValue(key: MetadataOption, value: unknown): string {
  if (key === "workspaceId") {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new InvalidParameterError(`workspaceId must be a non-negative integer, not ${JSON.stringify(value)}`);
    }
    return String(value);
  }
  // gRPC metadata values are printable ASCII: refuse what grpc-js would mangle or drop.
  if (typeof value !== "string" || value === "" || !/^[\x20-\x7e]+$/.test(value)) {
    throw new InvalidParameterError(`${key} must be a non-empty string of printable ASCII characters`);
  }
  return value;
}

function readPem(value: Buffer | string | undefined): Buffer | null {
  if (value === undefined) return null;
  return Buffer.isBuffer(value) ? value : fs.readFileSync(value);
}

/** Opens a channel to files-gateway ("host:port", "dns:...", "unix:/path") and returns a Client. */
export function connect(target: string = DEFAULT_TARGET, options: ConnectOptions = {}): Client {
  return new Client(target, options);
}

/** The decoded-message side of a call: what grpc-js needs to (de)serialize a type. */
function codec(type: protobuf.Type) {
  return {
    serialize: (value: Record<string, unknown>) => {
      const bytes = type.encode(value).finish();
      return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize: (bytes: Buffer) => type.decode(bytes) as unknown as Record<string, unknown>,
  };
}

type Codec = ReturnType<typeof codec>;
const codecs = new WeakMap<protobuf.Type, Codec>();
function codecFor(type: protobuf.Type): Codec {
  let c = codecs.get(type);
  if (!c) codecs.set(type, (c = codec(type)));
  return c;
}

const OPTION_KEYS = new Set(["timeoutMs", "metadata", "waitForReady", "signal", ...Object.keys(METADATA_OPTIONS)]);

/**
 * Every Files.com resource as a property (client.users, client.files,
 * client.apiKeys, ...; the singular works too; client.resource("User") by SDK
 * name), plus uploadFile, downloadFile, open and listFor over TransferService.
 * close() closes the channel.
 */
export class Client implements Caller {
  readonly target: string;
  readonly timeoutMs: number | null;
  readonly transferTimeoutMs: number | null;
  /** The grpc-js client every call goes through. */
  readonly grpc: grpc.Client;
  private readonly baseMetadata: grpc.Metadata;
  private readonly resourceCache = new Map<string, Resource>();

  constructor(target: string = DEFAULT_TARGET, options: ConnectOptions = {}) {
    this.target = target;
    this.timeoutMs = options.timeoutMs === undefined ? 30000 : options.timeoutMs;
    this.transferTimeoutMs = options.transferTimeoutMs ?? null;
    const max = options.maxMessageBytes ?? 64 * MIB;
    const channelOptions: grpc.ChannelOptions = {
      "grpc.max_receive_message_length": max,
      "grpc.max_send_message_length": max,
    };
    if (options.keepalive) {
      channelOptions["grpc.keepalive_time_ms"] = options.keepalive.timeMs;
      channelOptions["grpc.keepalive_timeout_ms"] = options.keepalive.timeoutMs ?? 20000;
      channelOptions["grpc.keepalive_permit_without_calls"] = options.keepalive.permitWithoutCalls ? 1 : 0;
    }
    Object.assign(channelOptions, options.channelOptions || {});
    const secure = options.tls || options.rootCerts !== undefined || options.certChain !== undefined;
    const creds = secure
      ? grpc.credentials.createSsl(readPem(options.rootCerts), readPem(options.privateKey), readPem(options.certChain))
      : grpc.credentials.createInsecure();
    this.grpc = new grpc.Client(target, creds, channelOptions);
    this.baseMetadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(options.metadata || {})) {
      for (const item of Array.isArray(v) ? v : [v]) this.baseMetadata.add(k, item);
    }
    if (options.token) this.baseMetadata.set("authorization", `Bearer ${options.token}`);
    for (const [key, header] of Object.entries(METADATA_OPTIONS)) {
      const v = options[key as MetadataOption];
      if (v !== undefined) this.baseMetadata.set(header, metadataValue(key as MetadataOption, v));
    }
  }

  // --- resources -----------------------------------------------------------

  /** A resource by SDK name ("User") or property name ("users", "user"). */
  resource<K extends keyof ResourcesByName>(name: K): ResourcesByName[K];
  resource(name: string): Resource;
  resource(name: string): Resource {
    const sdkName = (RESOURCE_ATTRIBUTES as Record<string, string>)[name] || name;
    let r = this.resourceCache.get(sdkName);
    if (!r) {
      r = new Resource(this, sdkName);
      this.resourceCache.set(sdkName, r);
    }
    return r;
  }

  /** The SDK resource names, e.g. ["ActionLog", ..., "User", ...]. */
  get resources(): string[] {
    return [...new Set(Object.values(RESOURCE_ATTRIBUTES))].sort();
  }

  // --- transfers -------------------------------------------------------------

  /** Uploads a local file (a path or a Readable); resolves to the File. */
  uploadFile(local: string | NodeJS.ReadableStream, remote: string,
    options: transfer.UploadOptions = {}): Promise<FileModel> {
    return transfer.uploadFile(this, local, remote, options);
  }

  /** Downloads remote into local (a path, written via a temporary file, or a Writable); resolves to the File. */
  downloadFile(remote: string, local: string | NodeJS.WritableStream,
    options: transfer.DownloadOptions = {}): Promise<FileModel> {
    return transfer.downloadFile(this, remote, local, options);
  }

  /**
   * A streaming file: "r" (text) / "rb" resolve to a Readable once the file's
   * metadata arrived (a missing file rejects here); "w" (text) / "wb" to a
   * Writable that commits on end() (close() ends it and resolves to the File)
   * and commits nothing when destroyed.
   */
  open(remote: string, mode: "r" | "rb", options?: transfer.ReadOptions): Promise<transfer.DownloadStream>;
  open(remote: string, mode: "w" | "wb", options?: transfer.WriteOptions): Promise<transfer.UploadStream>;
  open(remote: string, mode?: transfer.OpenMode, options?: transfer.ReadOptions & transfer.WriteOptions):
    Promise<transfer.DownloadStream | transfer.UploadStream>;
  open(remote: string, mode: transfer.OpenMode = "r", options: transfer.ReadOptions & transfer.WriteOptions = {}):
    Promise<transfer.DownloadStream | transfer.UploadStream> {
    return transfer.open(this, remote, mode, options);
  }

  /**
   * Begins a resumable upload (TransferService.StartResumableUpload) to
   * remote; persist `uploadId` to resume from another process. See ResumableUpload.
   */
  startResumableUpload(remote: string, options: transfer.UploadSpecOptions & CallOptions = {}):
    Promise<transfer.ResumableUpload> {
    return transfer.startResumableUpload(this, remote, options);
  }

  /** A resumable upload by the id startResumableUpload gave (e.g. after a restart). */
  resumableUpload(uploadId: string, remote?: string): transfer.ResumableUpload {
    return new transfer.ResumableUpload(this, uploadId, remote);
  }

  /** TransferService.QueryUploadStatus: the persisted size, and the File once committed. */
  queryUploadStatus(uploadId: string, options?: CallOptions): Promise<transfer.ResumableStatus> {
    return this.resumableUpload(uploadId).status(options);
  }

  /** TransferService.CancelResumableUpload: nothing appears at the destination. */
  cancelResumableUpload(uploadId: string, options?: CallOptions): Promise<void> {
    return this.resumableUpload(uploadId).cancel(options);
  }

  /** Every entry of a folder (Folder.list_for, every page), as File models. */
  listFor(folder = "", params?: Record<string, unknown> | null, options?: CallOptions): ListPromise<FileModel> {
    return this.resource("Folder").listFor(folder, params as never, options);
  }

  // --- plumbing ----------------------------------------------------------------

  /** grpc-js metadata and call options for one call. */
  callSettings(options: CallOptions | undefined, isTransfer: boolean): { metadata: grpc.Metadata; callOptions: grpc.CallOptions } {
    const o = options || {};
    for (const key of Object.keys(o)) {
      if (!OPTION_KEYS.has(key)) {
        throw new InvalidParameterError(`unknown call option ${JSON.stringify(key)} (known: ${[...OPTION_KEYS].join(", ")})`);
      }
    }
    const metadata = this.baseMetadata.clone();
    if (o.metadata instanceof grpc.Metadata) {
      metadata.merge(o.metadata);
    } else if (o.metadata) {
      for (const [k, v] of Object.entries(o.metadata)) {
        for (const item of Array.isArray(v) ? v : [v]) metadata.add(k, item);
      }
    }
    for (const [key, header] of Object.entries(METADATA_OPTIONS)) {
      const v = o[key as MetadataOption];
      if (v !== undefined) metadata.set(header, metadataValue(key as MetadataOption, v));
    }
    const timeout = o.timeoutMs !== undefined ? o.timeoutMs : isTransfer ? this.transferTimeoutMs : this.timeoutMs;
    const callOptions: grpc.CallOptions = {};
    if (timeout !== null && timeout !== undefined) callOptions.deadline = Date.now() + timeout;
    if (o.waitForReady !== undefined) (callOptions as Record<string, unknown>).waitForReady = o.waitForReady;
    return { metadata, callOptions };
  }

  /** One unary call; resolves to the decoded response, rejects with a typed error. */
  unary(method: RpcMethod | SdkMethod, request: Record<string, unknown>, options?: CallOptions): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const signal = options?.signal;
      if (signal?.aborted) {
        reject(new CancelledError("the call was cancelled before it started", { code: grpc.status.CANCELLED }));
        return;
      }
      const { metadata, callOptions } = this.callSettings(options, false);
      const req = codecFor(method.requestType);
      const res = codecFor(method.responseType);
      const onAbort = () => call.cancel();
      const call = this.grpc.makeUnaryRequest(method.rpcPath, req.serialize, res.deserialize, request,
        metadata, callOptions, (err, value) => {
          signal?.removeEventListener("abort", onAbort);
          if (err) reject(fromServiceError(err));
          else resolve(value as Record<string, unknown>);
        });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** A client-streaming call (TransferService.Upload). */
  clientStream(method: RpcMethod, options: CallOptions | undefined,
    callback: (err: grpc.ServiceError | null, value?: Record<string, unknown>) => void): grpc.ClientWritableStream<Record<string, unknown>> {
    const { metadata, callOptions } = this.callSettings(options, true);
    const req = codecFor(method.requestType);
    const res = codecFor(method.responseType);
    return this.grpc.makeClientStreamRequest(method.rpcPath, req.serialize, res.deserialize, metadata,
      callOptions, callback);
  }

  /** A server-streaming call (TransferService.Download). */
  serverStream(method: RpcMethod, request: Record<string, unknown>, options: CallOptions | undefined):
    grpc.ClientReadableStream<Record<string, unknown>> {
    const { metadata, callOptions } = this.callSettings(options, true);
    const req = codecFor(method.requestType);
    const res = codecFor(method.responseType);
    return this.grpc.makeServerStreamRequest(method.rpcPath, req.serialize, res.deserialize, request,
      metadata, callOptions);
  }

  /** Closes the channel; calls in flight fail. */
  close(): void {
    this.grpc.close();
  }

  toString(): string {
    return `[files-gateway Client ${this.target}]`;
  }
}

// Every resource as a property of Client, from the generated attribute table.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Client extends Resources {}
for (const attr of Object.keys(RESOURCE_ATTRIBUTES)) {
  Object.defineProperty(Client.prototype, attr, {
    get(this: Client) {
      return this.resource(attr);
    },
    enumerable: false,
    configurable: true,
  });
}
