// Node client for files-gateway: the Files.com API over gRPC, in the shape of
// the Files.com SDK.
//
//   import { connect, errors } from "files-gateway";
//   const client = connect("127.0.0.1:50051");
//   for await (const user of client.users.list({ per_page: 1000 })) console.log(user.id, user.username);
//   try { await client.users.find(987654321); }
//   catch (e) { if (e instanceof errors.NotFoundError) console.log(e.type); }
//   await client.uploadFile("report.csv", "reports/report.csv", { mkdirParents: true });
//
// Everything per resource (actions, request fields, error classes) comes from
// the protos: read from the descriptors at run time, typed by the interfaces
// generated at build time.
import * as errors from "./errors";
import * as pathUtil from "./path_util";

export { connect, Client, DEFAULT_TARGET } from "./client";
export type { ConnectOptions, KeepaliveOptions } from "./client";
export { ListObj, ListPromise } from "./list";
export { Resource, hasField } from "./resources";
export { DownloadStream, UploadStream, ResumableUpload, CHUNK_SIZE } from "./transfer";
export type {
  OpenMode, ReadOptions, WriteOptions, UploadOptions, DownloadOptions, UploadSpecOptions, ProgressOptions,
  TransferProgress, ResumableStatus, ResumableSendOptions, ResumableSource,
} from "./transfer";
export type { FileModelExtras, FileResourceExtras, SdkUploadParams } from "./file_extras";
export { FilesError, APIError, FilesApiError, APIConnectionError } from "./errors";
export type { ActionFunction, CallOptions, Model, Params, ParamValue, ResourceBase } from "./types";
export type * from "./gen/resources";
export { errors, pathUtil };

/** The generated message and enum types (files.v1.User, ...). */
export type * as files from "./gen/types/files/v1/index";

export const VERSION = "0.2.0";
