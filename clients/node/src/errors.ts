// Typed errors with the Files.com SDK's class names and hierarchy:
//
//   FolderAdminPermissionRequiredError -> NotAuthorizedError -> APIError -> FilesError -> Error
//
// The catalogue classes are generated from error_catalog.proto (the
// (files.v1.error) option of every ErrorGroup / ErrorType value).
// fromServiceError() picks the class from the gateway's rich status:
// google.rpc.Status in grpc-status-details-bin with ErrorInfo (metadata "type",
// "group", "http_status"), RetryInfo and files.v1.FilesError (the body).
//
// Failures that are not Files.com answers: APIConnectionError (the gateway, or
// Files.com behind it, cannot be reached), DeadlineExceededError (a kind of
// it), CancelledError, DataLossError and GatewayError (any other failure of
// the gateway itself).
import { Metadata, status } from "@grpc/grpc-js";
import type * as protobuf from "protobufjs";
import * as base from "./errors_base";
import { APIError, ErrorAttributes, FilesError } from "./errors_base";
import * as catalog from "./gen/error_classes";
import { lookupType } from "./descriptors";
import { toPlain } from "./convert";

export * from "./errors_base";
export * from "./gen/error_classes";

export type ErrorClass = new (message?: string, attributes?: ErrorAttributes) => FilesError;

const BY_TYPE = new Map<string, ErrorClass>();  // "not-found/user-not-found" and "not-found"
const BY_NAME = new Map<string, ErrorClass>();  // "UserNotFoundError", "Error", ...
for (const [name, cls] of Object.entries(base.BASE_CLASSES)) BY_NAME.set(name, cls);
for (const cls of catalog.CATALOG_CLASSES) {
  BY_TYPE.set(cls.filesType, cls);
  BY_NAME.set(cls.name, cls);
}
for (const [alias, cls] of Object.entries(catalog.SDK_ALIASES)) BY_NAME.set(alias, cls);
BY_NAME.set("FilesApiError", APIError);

/** {Files.com type: class} for every group and type of the catalogue. */
export function catalogClasses(): Map<string, ErrorClass> {
  return new Map(BY_TYPE);
}

/** An error class by name: a catalogue class, a base class, or "Error" (FilesError). */
export function errorClass(name: string): ErrorClass | undefined {
  return BY_NAME.get(name);
}

/**
 * The class for a Files.com type; an unknown leaf falls back to its group
 * (from the type's prefix, else the group class name), then to APIError.
 */
export function classForType(filesType: string, group?: string): ErrorClass {
  const exact = BY_TYPE.get(filesType);
  if (exact) return exact;
  const prefix = (filesType || "").split("/")[0];
  return BY_TYPE.get(prefix) || (group ? BY_NAME.get(group) : undefined) || APIError;
}

// Non-Files.com failures by gRPC code. The group rows apply to statuses the
// gateway built itself (ErrorInfo domain "files-gateway", e.g. a bad request
// message or an unknown upload_id) and to bare statuses with codes gRPC never
// produces on its own; they mirror the gateway's group -> code table.
const ALWAYS = new Map<status, ErrorClass>([
  [status.UNAVAILABLE, base.APIConnectionError],
  [status.DEADLINE_EXCEEDED, base.DeadlineExceededError],
  [status.CANCELLED, base.CancelledError],
  [status.DATA_LOSS, base.DataLossError],
]);
const FROM_GATEWAY = new Map<status, string>([
  [status.INVALID_ARGUMENT, "bad-request"],
  [status.OUT_OF_RANGE, "bad-request"],
  [status.UNAUTHENTICATED, "not-authenticated"],
  [status.PERMISSION_DENIED, "not-authorized"],
  [status.NOT_FOUND, "not-found"],
  [status.FAILED_PRECONDITION, "processing-failure"],
  [status.ABORTED, "processing-failure"],
  [status.RESOURCE_EXHAUSTED, "rate-limited"],
  // TransferService's overwrite policy FAIL_IF_EXISTS.
  [status.ALREADY_EXISTS, "processing-failure/destination-exists"],
]);
// gRPC itself answers RESOURCE_EXHAUSTED for an oversized message: without the
// gateway's ErrorInfo it is no rate limit.
const AMBIGUOUS_WHEN_BARE = new Set([status.RESOURCE_EXHAUSTED]);

type Plain = Record<string, unknown>;

interface Details {
  info?: Plain;
  retry?: Plain;
  filesError?: Plain;
}

/** ErrorInfo, RetryInfo and FilesError from grpc-status-details-bin (each or undefined). */
export function parseStatusDetails(metadata?: Metadata): Details {
  const out: Details = {};
  const values = metadata ? metadata.get("grpc-status-details-bin") : [];
  if (!values.length) return out;
  const statusType = lookupType("google.rpc.Status");
  const anyType = statusType.fieldsById[3].resolvedType as protobuf.Type;
  const typeUrlName = anyType.fieldsById[1].name;
  const valueName = anyType.fieldsById[2].name;
  const decoders: Record<string, keyof Details> = {
    "google.rpc.ErrorInfo": "info", "google.rpc.RetryInfo": "retry", "files.v1.FilesError": "filesError",
  };
  try {
    const st = statusType.decode(values[values.length - 1] as Buffer) as unknown as Plain;
    for (const any of (st[statusType.fieldsById[3].name] || []) as Plain[]) {
      const name = String(any[typeUrlName] || "").split("/").pop() || "";
      const slot = decoders[name];
      if (!slot) continue;
      const t = lookupType(name);
      out[slot] = toPlain(t, t.decode(any[valueName] as Uint8Array) as unknown as Plain);
    }
  } catch {
    // A detail we cannot read leaves the bare status.
  }
  return out;
}

function nonEmpty<T>(v: T | undefined | null): T | undefined {
  if (v === undefined || v === null || v === "" || v === 0) return undefined;
  if (Array.isArray(v) && v.length === 0) return undefined;
  if (typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0) return undefined;
  return v;
}

/** The shape of a failed grpc-js call (grpc.ServiceError). */
export interface StatusLike {
  code?: number;
  details?: string;
  message?: string;
  metadata?: Metadata;
}

/** The typed error for a failed grpc-js call. */
export function fromServiceError(err: StatusLike): FilesError {
  const code = typeof err.code === "number" ? (err.code as status) : undefined;
  const message = err.details ?? err.message ?? "";
  const { info, retry, filesError } = parseStatusDetails(err.metadata);
  const attrs: ErrorAttributes = { code, cause: err };
  const metadata = ((info && info.metadata) || {}) as Record<string, string>;
  if (info) {
    attrs.reason = nonEmpty(info.reason as string);
    attrs.domain = nonEmpty(info.domain as string);
    attrs.metadata = { ...metadata };
  }
  const delay = retry && (retry.retry_delay as Plain | undefined);
  if (delay) attrs.retryDelay = Number(delay.seconds || 0) + Number(delay.nanos || 0) / 1e9;
  const filesType = metadata.type || (filesError && (filesError.type as string)) || "";
  let cls: ErrorClass;
  if (filesType) {
    cls = classForType(filesType, metadata.group);
    attrs.type = filesType;
  } else if (code !== undefined && ALWAYS.has(code)) {
    cls = ALWAYS.get(code)!;
  } else if (code !== undefined && FROM_GATEWAY.has(code) && (info || !AMBIGUOUS_WHEN_BARE.has(code))) {
    cls = classForType(FROM_GATEWAY.get(code)!);
  } else {
    cls = base.GatewayError;
  }
  if (metadata.http_status && /^\d+$/.test(metadata.http_status)) {
    attrs.httpStatus = Number(metadata.http_status);
  }
  if (filesError) {
    attrs.title = nonEmpty(filesError.title as string);
    attrs.httpCode = nonEmpty(filesError.http_code as number);
    attrs.instance = nonEmpty(filesError.instance as string);
    attrs.errors = nonEmpty(filesError.errors as unknown[]);
    attrs.data = nonEmpty(filesError.data as Plain);
    attrs.modelErrors = nonEmpty(filesError.model_errors as Plain);
    attrs.modelErrorKeys = nonEmpty(filesError.model_error_keys as Plain);
    attrs.httpStatus = attrs.httpStatus || nonEmpty(filesError.http_status as number);
  }
  return new cls(message, attrs);
}

/** Turns anything a call rejected with into a FilesError (typed errors pass through). */
export function toFilesError(err: unknown): FilesError {
  if (err instanceof FilesError) return err;
  if (err && typeof err === "object" && "code" in err && typeof (err as StatusLike).code === "number") {
    return fromServiceError(err as StatusLike);
  }
  return new base.GatewayError(err instanceof Error ? err.message : String(err), { cause: err });
}
