// Types shared by the runtime and the generated interfaces (src/gen/resources.ts).
import type { Metadata } from "@grpc/grpc-js";
import type { ListPromise } from "./list";

export type { ListObj, ListPromise } from "./list";

/** Per-call options; every action, transfer and list takes them last. */
export interface CallOptions {
  /** Deadline of this call in milliseconds (null: none). Default: the client's. */
  timeoutMs?: number | null;
  /**
   * A Files.com API key for this call instead of the gateway's (metadata
   * x-files-api-key; the gateway accepts it only when the caller's profile allows it).
   */
  apiKey?: string;
  /** A Files.com session id for this call (metadata x-files-session-id; same rule as apiKey). */
  sessionId?: string;
  /** The Files.com workspace of this call (metadata x-files-workspace-id, sent upstream as X-Files-Workspace-Id). */
  workspaceId?: number;
  /** The language of Files.com's messages for this call (metadata x-files-language, sent upstream as Accept-Language). */
  language?: string;
  /** Extra request metadata, sent beside the client's own. */
  metadata?: Metadata | Record<string, string | string[]>;
  /** Wait for the gateway to be reachable instead of failing at once. */
  waitForReady?: boolean;
  /** Cancels the call when aborted (the promise rejects with CancelledError). */
  signal?: AbortSignal;
}

/** A parameter value as callers may give it: nested objects partially, bytes as strings. */
export type ParamValue<V> =
  V extends Buffer ? Buffer | Uint8Array | string :
  V extends ReadonlyArray<infer E> ? ReadonlyArray<ParamValue<E>> :
  V extends number ? number | bigint | string :
  V extends object ? { [K in keyof V]?: ParamValue<V[K]> | null } :
  V;

/** The request of an action, every field optional (keys are Files.com's snake_case names). */
export type Params<T> = { [K in keyof T]?: ParamValue<NonNullable<T[K]>> | null };

/** Field types a model always answers (a default when Files.com sent none): not messages. */
type Always = string | number | boolean | Buffer | ReadonlyArray<unknown>;

/** The keys of T whose values are scalars, enums, bytes or lists. */
type ScalarKeys<T> = { [K in keyof T]-?: NonNullable<T[K]> extends Always ? K : never }[keyof T];

/**
 * A result object: the message's fields under their Files.com names. Scalar,
 * enum, bytes and repeated fields always have a value, as protobuf getters do
 * in every language (`user.username` is a string: "" when Files.com sent
 * none; `hasField(user, "username")` tells the two apart); message fields
 * (nested models, google.protobuf.Struct objects such as `unmapped_fields`)
 * may be undefined. int64 are numbers, enums their names, bytes Buffers.
 * Only the fields Files.com sent are own enumerable properties, so
 * `{...model}` and `JSON.stringify(model)` give exactly what arrived.
 */
export type Model<T> = { [K in ScalarKeys<T>]-?: NonNullable<T[K]> } &
  { [K in Exclude<keyof T, ScalarKeys<T>>]?: T[K] };

/** An action called by name: path params positionally, then params, then options. */
export type ActionFunction = (...args: unknown[]) => Promise<unknown> | ListPromise<unknown>;

/** What every resource has besides its actions. */
export interface ResourceBase {
  /** The SDK class name, e.g. "User". */
  readonly name: string;
  /** The SDK action names, e.g. ["create", "delete", "find", "list", "unlock", ...]. */
  readonly actions: readonly string[];
  /** An action by its SDK name ("resend_welcome_email") or camelCase name. */
  action(name: string): ActionFunction;
}
