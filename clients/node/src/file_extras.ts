// The Files.com JS SDK's file calls, with its names and argument order, on
// client.files (the SDK's File class) and on File models:
//
//   await client.files.uploadFile("reports/q3.csv", "/tmp/q3.csv");     // File.uploadFile(destination, source)
//   await client.files.uploadData("notes/hello.txt", "hello");           // File.uploadData
//   await client.files.uploadStream("logs/app.log", fs.createReadStream("app.log"));
//   const file = await client.files.find("reports/q3.csv");
//   await file.downloadToFile("/tmp/copy.csv");                          // file.downloadToFile(destination)
//   const text = await file.downloadToString();
//
// They run over TransferService like client.uploadFile / downloadFile.
import { Readable, Writable } from "stream";
import { InvalidParameterError } from "./errors_base";
import { Caller, registerModelExtras, registerResourceExtras } from "./resources";
import * as transfer from "./transfer";
import type { Client } from "./client";
import type { FileModel } from "./gen/resources";
import type { CallOptions } from "./types";

/** The SDK's upload params (begin_upload's), as Files.com names them. */
export interface SdkUploadParams {
  mkdir_parents?: boolean;
  provided_mtime?: string | Date;
  /** The size the upload must have (checked before the commit). */
  size?: number;
}

/** The SDK-named upload calls of client.files. */
export interface FileResourceExtras {
  /** File.uploadFile(destinationPath, sourceFilePath, params, options): uploads a local file. */
  uploadFile(destinationPath: string, sourceFilePath: string, params?: SdkUploadParams | null,
    options?: transfer.UploadOptions): Promise<FileModel>;
  /** File.uploadStream(destinationPath, readableStream, params, options). */
  uploadStream(destinationPath: string, readableStream: NodeJS.ReadableStream, params?: SdkUploadParams | null,
    options?: transfer.UploadOptions): Promise<FileModel>;
  /** File.uploadData(destinationPath, data, params, options): a string (UTF-8) or bytes. */
  uploadData(destinationPath: string, data: string | Buffer | Uint8Array, params?: SdkUploadParams | null,
    options?: transfer.UploadOptions): Promise<FileModel>;
}

/** The SDK-named download calls of a File model. */
export interface FileModelExtras {
  /** file.downloadToFile(destinationPath): through a temporary file renamed at the end. */
  downloadToFile(destinationPath: string, options?: transfer.DownloadOptions): Promise<FileModel>;
  /** file.downloadToStream(writableStream). */
  downloadToStream(writableStream: NodeJS.WritableStream, options?: transfer.DownloadOptions): Promise<FileModel>;
  /** file.downloadToString(): the content as UTF-8 text. */
  downloadToString(options?: transfer.DownloadOptions): Promise<string>;
  /** file.copyTo(destinationFilePath): File.copy with this file's path; resolves to the FileAction. */
  copyTo(destinationFilePath: string, options?: CallOptions): Promise<unknown>;
  /** file.moveTo(destinationFilePath): File.move with this file's path; resolves to the FileAction. */
  moveTo(destinationFilePath: string, options?: CallOptions): Promise<unknown>;
}

type TransferClient = Client & Caller;

function merge(params: SdkUploadParams | null | undefined, options: transfer.UploadOptions | undefined): transfer.UploadOptions {
  const o: transfer.UploadOptions = { ...(options || {}) };
  for (const key of Object.keys(params || {})) {
    if (!["mkdir_parents", "provided_mtime", "size"].includes(key)) {
      throw new InvalidParameterError(`unknown upload param ${JSON.stringify(key)} (known: mkdir_parents, provided_mtime, size)`);
    }
  }
  if (params?.mkdir_parents !== undefined) o.mkdirParents = Boolean(params.mkdir_parents);
  if (params?.provided_mtime !== undefined) o.providedMtime = params.provided_mtime;
  if (params?.size !== undefined) o.expectedSize = params.size;
  return o;
}

function pathOf(file: { path?: string }): string {
  if (!file.path) throw new InvalidParameterError("this File has no path");
  return file.path;
}

registerResourceExtras("File", (caller) => {
  const client = caller as TransferClient;
  const extras: FileResourceExtras = {
    async uploadFile(destinationPath, sourceFilePath, params, options) {
      if (typeof sourceFilePath !== "string") {
        throw new InvalidParameterError("uploadFile(destinationPath, sourceFilePath): the source is a path " +
          "(uploadStream takes a Readable)");
      }
      return transfer.uploadFile(client, sourceFilePath, destinationPath, merge(params, options));
    },
    async uploadStream(destinationPath, readableStream, params, options) {
      return transfer.uploadFile(client, readableStream, destinationPath, merge(params, options));
    },
    async uploadData(destinationPath, data, params, options) {
      const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const o = merge(params, options);
      if (o.expectedSize === undefined) o.expectedSize = bytes.length;
      return transfer.uploadFile(client, Readable.from([bytes]), destinationPath, o);
    },
  };
  return extras as unknown as Record<string, (...args: never[]) => unknown>;
});

registerModelExtras(".files.v1.File", (caller) => {
  const client = caller as TransferClient;
  return {
    downloadToFile(this: FileModel, destinationPath: string, options?: transfer.DownloadOptions) {
      return transfer.downloadFile(client, pathOf(this), destinationPath, options);
    },
    downloadToStream(this: FileModel, writableStream: NodeJS.WritableStream, options?: transfer.DownloadOptions) {
      return transfer.downloadFile(client, pathOf(this), writableStream, options);
    },
    async downloadToString(this: FileModel, options?: transfer.DownloadOptions) {
      const parts: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          parts.push(chunk);
          cb();
        },
      });
      await transfer.downloadFile(client, pathOf(this), sink, options);
      return Buffer.concat(parts).toString("utf8");
    },
    copyTo(this: FileModel, destinationFilePath: string, options?: CallOptions) {
      return client.resource("File").action("copy")(pathOf(this), { destination: destinationFilePath }, options);
    },
    moveTo(this: FileModel, destinationFilePath: string, options?: CallOptions) {
      return client.resource("File").action("move")(pathOf(this), { destination: destinationFilePath }, options);
    },
  } as unknown as Record<string, (...args: never[]) => unknown>;
});
