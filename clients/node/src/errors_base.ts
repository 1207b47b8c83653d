// The error classes every other one derives from. The Files.com catalogue
// (BadRequestError, ..., FolderAdminPermissionRequiredError) is generated from
// error_catalog.proto into gen/error_classes.ts on top of APIError.
import { status } from "@grpc/grpc-js";

/** What an error carries besides its message (all optional). */
export interface ErrorAttributes {
  /** The gRPC status code. */
  code?: status;
  /** What Files.com answered (ErrorInfo metadata "http_status", or the body). */
  httpStatus?: number;
  /** Seconds to wait before retrying (google.rpc.RetryInfo). */
  retryDelay?: number;
  /** The Files.com type, e.g. "not-found/user-not-found". */
  type?: string;
  /** google.rpc.ErrorInfo reason and domain. */
  reason?: string;
  domain?: string;
  /** google.rpc.ErrorInfo metadata ("type", "group", "http_status", ...). */
  metadata?: Record<string, string>;
  /** From the Files.com error body (files.v1.FilesError). */
  title?: string;
  errors?: unknown[];
  data?: Record<string, unknown>;
  modelErrors?: Record<string, unknown>;
  modelErrorKeys?: Record<string, unknown>;
  httpCode?: number;
  instance?: string;
  cause?: unknown;
}

/**
 * Base of every error this package throws (the SDKs' `Error`). Unknown
 * attributes are undefined; `metadata` is always an object.
 */
export class FilesError extends Error {
  code?: status;
  httpStatus?: number;
  retryDelay?: number;
  type?: string;
  reason?: string;
  domain?: string;
  metadata: Record<string, string>;
  title?: string;
  errors?: unknown[];
  data?: Record<string, unknown>;
  modelErrors?: Record<string, unknown>;
  modelErrorKeys?: Record<string, unknown>;
  httpCode?: number;
  instance?: string;

  constructor(message?: string, attributes: ErrorAttributes = {}) {
    const { cause, ...rest } = attributes;
    super(message ?? "", cause === undefined ? undefined : { cause });
    Object.defineProperty(this, "name", { value: new.target.name, enumerable: false, writable: true, configurable: true });
    this.metadata = {};
    for (const [k, v] of Object.entries(rest)) {
      if (v !== undefined) (this as Record<string, unknown>)[k] = v;
    }
  }

  /** The gRPC status name, e.g. "NOT_FOUND". */
  get grpcCode(): string | undefined {
    return this.code === undefined ? undefined : status[this.code];
  }

  /** The SDK's spelling of `type`. */
  get errorType(): string | undefined {
    return this.type;
  }
}

/** The gateway (or Files.com behind it) could not be reached. */
export class APIConnectionError extends FilesError {}

/** The call's deadline passed before an answer arrived. */
export class DeadlineExceededError extends APIConnectionError {}

/** The call was cancelled (by this process or the gateway). */
export class CancelledError extends FilesError {}

/** The request could not be built from the given arguments. */
export class InvalidRequestError extends FilesError {}

/** A parameter is unknown for the action or has the wrong type. */
export class InvalidParameterError extends InvalidRequestError {}

/** A parameter the action cannot do without is absent. */
export class MissingParameterError extends InvalidRequestError {}

/** Files.com (through the gateway) refused the call. */
export class APIError extends FilesError {
  /** The catalogue's Files.com type of this class ("" for APIError itself). */
  static readonly filesType: string = "";
}

/** The Files.com JS SDK's name of APIError (its FilesApiError). */
export const FilesApiError = APIError;
export type FilesApiError = APIError;

/** The gateway failed the call for a reason of its own (INTERNAL, UNIMPLEMENTED, ...). */
export class GatewayError extends APIError {}

/** Content did not arrive intact (a checksum or size mismatch). */
export class DataLossError extends GatewayError {}

export const BASE_CLASSES = {
  FilesError, Error: FilesError, APIConnectionError, DeadlineExceededError, CancelledError,
  InvalidRequestError, InvalidParameterError, MissingParameterError, APIError, GatewayError,
  DataLossError,
} as const;
