// Types shared by the runtime and the generated interfaces (src/gen/resources.ts).
import type { Metadata } from "@grpc/grpc-js";
import type { ListPromise } from "./list";

export type { ListObj, ListPromise } from "./list";

/** Per-call options; every action, transfer and list takes them last. */
export interface CallOptions {
  /** Deadline of this call in milliseconds (null: none). Default: the client's. */
  timeoutMs?: number | null;
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

/**
 * A result object: the message's fields under their Files.com names (unset
 * optional fields absent, repeated fields arrays, maps and free-form
 * google.protobuf.Struct fields plain objects, int64 numbers, enums names,
 * bytes Buffers).
 */
export type Model<T> = T;

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
