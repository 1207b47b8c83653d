// SDK-shaped resource access: client.users.list(...), client.files.beginUpload(path, ...).
//
// Each Resource is one (files.v1.sdk) resource and each of its methods one
// action, both read from the descriptors. An action takes the request fields
// its REST path names positionally (id, path, user_id, ...), then an optional
// params object and an optional options object (CallOptions):
//
//   await client.users.update(42, { name: "Alice" }, { timeoutMs: 5000 });
//
// It returns a ListPromise for paginated actions, a Promise of an array of
// models for actions answering a bare list, of undefined for actions answering
// nothing (google.protobuf.Empty), else of one model. Models are plain objects
// whose prototype carries the resource's per-object actions:
// `await user.update({ name: "Bob" })` fills in the id from the user.
import * as protobuf from "protobufjs";
import { fill, toPlain } from "./convert";
import { SdkMethod, sdkResources } from "./descriptors";
import { InvalidParameterError } from "./errors_base";
import { ListObj, ListPromise } from "./list";
import type { ActionFunction, CallOptions } from "./types";

/** What a Resource needs from the client. */
export interface Caller {
  unary(method: SdkMethod, request: Record<string, unknown>, options?: CallOptions): Promise<Record<string, unknown>>;
}

type Plain = Record<string, unknown>;

/** "resend_welcome_email" -> "resendWelcomeEmail". */
export function camelCase(snake: string): string {
  return snake.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function isParamsObject(v: unknown): v is Plain {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !Buffer.isBuffer(v) &&
    !(v instanceof Date) && !(v instanceof Uint8Array);
}

/** Splits an action's arguments into path values, params and options. */
function splitArgs(method: SdkMethod, args: unknown[]): { values: Plain; options?: CallOptions } {
  const where = `${method.resource}.${method.action}`;
  const n = method.pathParams.length;
  const positional: unknown[] = [];
  let i = 0;
  while (i < args.length && positional.length < n && !isParamsObject(args[i])) {
    positional.push(args[i++]);
  }
  const params = args[i++];
  const options = args[i++];
  if (i < args.length) {
    throw new InvalidParameterError(`${where} takes ${n} positional argument${n === 1 ? "" : "s"}` +
      `${n ? ` (${method.pathParams.join(", ")})` : ""}, then params and options; got ${args.length} arguments`);
  }
  if (params !== undefined && params !== null && !isParamsObject(params)) {
    throw new InvalidParameterError(`${where}: params must be an object, got ${String(params)}`);
  }
  if (options !== undefined && options !== null && !isParamsObject(options)) {
    throw new InvalidParameterError(`${where}: options must be an object, got ${String(options)}`);
  }
  const values: Plain = { ...((params as Plain) || {}) };
  method.pathParams.forEach((p, k) => {
    if (k < positional.length && positional[k] !== undefined) values[p] = positional[k];
  });
  return { values, options: (options as CallOptions) || undefined };
}

/** The request (as protobufjs encodes it) for an action's arguments, without sending it. */
export function buildRequest(method: SdkMethod, args: unknown[]): { request: Plain; options?: CallOptions } {
  const { values, options } = splitArgs(method, args);
  return { request: fill(method.requestType, values, `${method.resource}.${method.action}`), options };
}

function isListResponse(type: protobuf.Type): boolean {
  const names = Object.keys(type.fields);
  return names.includes("items") && names.every((n) => n === "items" || n === "next_cursor");
}

/** The function behind one action. */
export function makeAction(caller: Caller, method: SdkMethod): ActionFunction {
  const response = method.responseType;
  const itemsType = response.fields.items?.resolvedType as protobuf.Type | null | undefined;
  let fn: ActionFunction;
  if (method.paginated) {
    fn = (...args: unknown[]) => new ListPromise<unknown>(async () => {
      const { request, options } = buildRequest(method, args);
      const list = new ListObj<unknown>(async (cursor) => {
        const page = await caller.unary(method, cursor ? { ...request, cursor } : request, options);
        return {
          items: ((page.items || []) as Plain[]).map((m) => wrap(caller, itemsType!, m)),
          nextCursor: (page.next_cursor as string) || undefined,
        };
      });
      return list.loadNextPage();
    });
  } else if (response.fullName === ".google.protobuf.Empty") {
    fn = async (...args: unknown[]) => {
      const { request, options } = buildRequest(method, args);
      await caller.unary(method, request, options);
      return undefined;
    };
  } else if (isListResponse(response)) {
    fn = async (...args: unknown[]) => {
      const { request, options } = buildRequest(method, args);
      const page = await caller.unary(method, request, options);
      return ((page.items || []) as Plain[]).map((m) => itemsType ? wrap(caller, itemsType, m) : m);
    };
  } else {
    fn = async (...args: unknown[]) => {
      const { request, options } = buildRequest(method, args);
      return wrap(caller, response, await caller.unary(method, request, options));
    };
  }
  Object.defineProperty(fn, "name", { value: camelCase(method.action) });
  return fn;
}

/** One Files.com resource (an SDK class such as User): its actions as methods. */
export class Resource {
  readonly name: string;
  readonly actions: readonly string[];
  private readonly methods: Map<string, SdkMethod>;
  private readonly bound = new Map<string, ActionFunction>();

  constructor(private readonly caller: Caller, name: string) {
    const methods = sdkResources().get(name);
    if (!methods) throw new InvalidParameterError(`no Files.com resource named ${JSON.stringify(name)}`);
    this.name = name;
    this.methods = methods;
    this.actions = [...methods.keys()].sort();
    for (const action of this.actions) {
      const camel = camelCase(action);
      const get = () => this.action(action);
      // camelCase is the method (client.users.resendWelcomeEmail); the SDK's
      // snake_case spelling works too, out of sight.
      Object.defineProperty(this, camel, { get, enumerable: true, configurable: true });
      if (camel !== action) Object.defineProperty(this, action, { get, enumerable: false, configurable: true });
    }
    const extras = resourceExtras.get(name);
    if (extras) {
      for (const [key, fn] of Object.entries(extras(caller))) {
        if (Object.prototype.hasOwnProperty.call(this, key)) continue;  // an action of that name wins
        Object.defineProperty(this, key, { value: fn, enumerable: false, configurable: true, writable: true });
      }
    }
  }

  /** An action by its SDK name ("resend_welcome_email") or camelCase name. */
  action(name: string): ActionFunction {
    let fn = this.bound.get(name);
    if (fn) return fn;
    let method = this.methods.get(name);
    if (!method) {
      for (const [action, m] of this.methods) if (camelCase(action) === name) method = m;
    }
    if (!method) {
      throw new InvalidParameterError(`${this.name} has no action ${JSON.stringify(name)} ` +
        `(it has: ${this.actions.join(", ")})`);
    }
    fn = makeAction(this.caller, method);
    this.bound.set(name, fn);
    return fn;
  }

  /** The descriptor facts of an action (RPC, REST binding, path params). */
  method(name: string): SdkMethod {
    const m = this.methods.get(name) || [...this.methods.values()].find((x) => camelCase(x.action) === name);
    if (!m) throw new InvalidParameterError(`${this.name} has no action ${JSON.stringify(name)}`);
    return m;
  }

  toString(): string {
    return `[Resource ${this.name}: ${this.actions.join(", ")}]`;
  }
}

// --- models ----------------------------------------------------------------------

const prototypes = new WeakMap<Caller, Map<string, object>>();

/**
 * The prototype of models of one message type: for a message named like a
 * resource, that resource's actions whose path params are all fields of it.
 */
function modelPrototype(caller: Caller, type: protobuf.Type): object {
  let perCaller = prototypes.get(caller);
  if (!perCaller) prototypes.set(caller, (perCaller = new Map()));
  let proto = perCaller.get(type.fullName);
  if (proto) return proto;
  proto = Object.create(Object.prototype, {
    [Symbol.toStringTag]: { value: type.name, configurable: true },
  }) as object;
  // Scalars, enums and bytes Files.com did not send read as their defaults
  // (as protobuf getters do); assigning one makes it an own field.
  for (const field of type.fieldsArray) {
    field.resolve();
    if (field.repeated || field instanceof protobuf.MapField || field.resolvedType instanceof protobuf.Type) continue;
    const value = defaultOf(field);
    const name = field.name;
    Object.defineProperty(proto, name, {
      get: () => (Buffer.isBuffer(value) ? Buffer.alloc(0) : value),
      set(this: object, v: unknown) {
        Object.defineProperty(this, name, { value: v, writable: true, enumerable: true, configurable: true });
      },
      enumerable: false, configurable: true,
    });
  }
  const methods = sdkResources().get(type.name);
  if (type.fullName === `.files.v1.${type.name}` && methods) {
    for (const method of methods.values()) {
      const name = camelCase(method.action);
      if (!method.pathParams.length || !method.pathParams.every((p) => type.fields[p])) continue;
      if (type.fields[name] || type.fields[method.action]) continue;
      let fn: ActionFunction | undefined;
      const bound = function (this: Plain, ...rest: unknown[]) {
        fn = fn || makeAction(caller, method);
        return fn(...method.pathParams.map((p) => this[p]), ...rest);
      };
      Object.defineProperty(bound, "name", { value: name });
      Object.defineProperty(proto, name, { value: bound, enumerable: false, configurable: true, writable: true });
    }
  }
  const extras = modelExtras.get(type.fullName);
  if (extras) {
    for (const [name, fn] of Object.entries(extras(caller))) {
      if (type.fields[name] || Object.prototype.hasOwnProperty.call(proto, name)) continue;
      Object.defineProperty(proto, name, { value: fn, enumerable: false, configurable: true, writable: true });
    }
  }
  perCaller.set(type.fullName, proto);
  return proto;
}

/** The value a field without presence data reads as. */
function defaultOf(field: protobuf.Field): unknown {
  if (field.resolvedType instanceof protobuf.Enum) {
    const values = field.resolvedType.values;
    return Object.keys(values).find((k) => values[k] === 0) ?? Object.keys(values)[0];
  }
  switch (field.type) {
    case "string": return "";
    case "bool": return false;
    case "bytes": return Buffer.alloc(0);
    default: return 0;
  }
}

type Extras = (caller: Caller) => Record<string, (...args: never[]) => unknown>;
const modelExtras = new Map<string, Extras>();
const resourceExtras = new Map<string, Extras>();

/** Methods a resource gets besides its actions ("File": uploadFile, ...; file_extras.ts). */
export function registerResourceExtras(resource: string, extras: Extras): void {
  resourceExtras.set(resource, extras);
}

/**
 * Methods models of one message type get besides their actions (".files.v1.File":
 * downloadToFile, ...); registered by the hand-written layers (transfer.ts).
 */
export function registerModelExtras(fullName: string, extras: Extras): void {
  modelExtras.set(fullName, extras);
}

/** Whether Files.com sent this field (a model's unset scalars read as defaults). */
export function hasField(model: object, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(model, name);
}

/** A decoded message as its model: a plain object of its fields with the per-object actions. */
export function wrap(caller: Caller, type: protobuf.Type, message: Plain): Plain {
  return Object.assign(Object.create(modelPrototype(caller, type)), toPlain(type, message));
}
