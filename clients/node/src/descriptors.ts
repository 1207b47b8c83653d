// The API surface, read at run time from the descriptor bundle generated from
// proto/ (gen/descriptors.json). Every files.v1 method with a (files.v1.sdk)
// option is an SDK action: resource "User", action "list", its request and
// response types, the request fields its REST path names ("/users/{id}" -> id)
// and whether it pages. Nothing here is written per resource.
//
// Start cost: building protobufjs objects for all ~750 messages took ~300 ms of
// CPU, and parsing the whole bundle ~20 ms, so the bundle holds each top-level
// declaration as a JSON string and the SDK surface as a table
// (scripts/generate.js, bundleJson): a declaration is parsed, and becomes a
// protobufjs type with the types it refers to, the first time a call needs it.
import * as fs from "fs";
import * as path from "path";
import * as protobuf from "protobufjs";

export interface RpcMethod {
  /** "/files.v1.UserService/ListUsers" */
  readonly rpcPath: string;
  readonly requestType: protobuf.Type;
  readonly responseType: protobuf.Type;
}

export interface SdkMethod extends RpcMethod {
  readonly resource: string;
  readonly action: string;
  readonly service: string;
  readonly name: string;
  readonly pathParams: readonly string[];
  readonly paginated: boolean;
  readonly httpMethod: string;
  readonly httpPath: string;
}

const PATH_PARAM = /\{(\w+)\}/g;

/** A message, enum or service in protobufjs JSON (nested types inside messages). */
interface JsonNode {
  nested?: Record<string, JsonNode>;
  fields?: Record<string, { type: string; keyType?: string }>;
  values?: Record<string, number>;
  methods?: Record<string, { requestType: string; responseType: string; options?: Record<string, unknown> }>;
  options?: Record<string, unknown>;
}

/** One SDK action as the generator wrote it (scripts/generate.js, bundleJson). */
interface SurfaceRow {
  service: string;
  rpc: string;
  resource: string;
  action: string;
  request: string;
  response: string;
  paginated: boolean;
  httpMethod: string;
  httpPath: string;
}

/** gen/descriptors.json: packages, each top-level declaration as a JSON string, the SDK surface. */
interface Bundle {
  format: string;
  namespaces: Record<string, Record<string, unknown>>;
  decls: Record<string, string>;
  surface: SurfaceRow[];
}

const FORMAT = "files-gateway-descriptors/2";

let bundleData: Bundle | undefined;
const parsed = new Map<string, JsonNode>();
let root: protobuf.Root | undefined;
let resources: Map<string, Map<string, SdkMethod>> | undefined;
const added = new Set<string>();   // top-level declarations already in the Root ("files.v1.User")

/** Where the bundle lives; FILESGW_NODE_DESCRIPTORS overrides it (tests). */
function bundlePath(): string {
  return process.env.FILESGW_NODE_DESCRIPTORS || path.join(__dirname, "gen", "descriptors.json");
}

function bundle(): Bundle {
  if (!bundleData) {
    const file = bundlePath();
    let data: Bundle;
    try {
      data = JSON.parse(fs.readFileSync(file, "utf8")) as Bundle;
    } catch (e) {
      throw new Error(`files-gateway: cannot read the generated descriptors ${file} ` +
        `(run \`npm run build\`): ${(e as Error).message}`);
    }
    if (data.format !== FORMAT) {
      throw new Error(`files-gateway: ${file} is not a ${FORMAT} bundle (run \`npm run build\`)`);
    }
    bundleData = data;
  }
  return bundleData;
}

const isType = (n: JsonNode) => n.fields !== undefined;
const isEnum = (n: JsonNode) => n.values !== undefined;
const isService = (n: JsonNode) => n.methods !== undefined;

/** A top-level declaration's JSON, parsed on first use. */
function decl(name: string): JsonNode | undefined {
  let node = parsed.get(name);
  if (!node) {
    const text = bundle().decls[name];
    if (text === undefined) return undefined;
    node = JSON.parse(text) as JsonNode;
    parsed.set(name, node);
  }
  return node;
}

/** The declaration at a dotted path (nested types included) and its top-level one, or undefined. */
function find(parts: readonly string[]): { top: string[]; node: JsonNode } | undefined {
  for (let i = 1; i <= parts.length; i++) {
    const top = parts.slice(0, i);
    let node = decl(top.join("."));
    if (!node) continue;
    for (const p of parts.slice(i)) {
      node = node?.nested?.[p];
      if (!node) return undefined;
    }
    return { top, node };
  }
  return undefined;
}

const SCALARS = new Set(["double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
  "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes"]);

/** Resolves a type reference as protobuf does: from the innermost scope outwards. */
function resolveName(scope: readonly string[], name: string): string[] | undefined {
  if (SCALARS.has(name)) return undefined;
  if (name.startsWith(".")) {
    const parts = name.slice(1).split(".");
    return find(parts) ? parts : undefined;
  }
  const parts = name.split(".");
  for (let i = scope.length; i >= 0; i--) {
    const candidate = [...scope.slice(0, i), ...parts];
    const found = find(candidate);
    if (found && (isType(found.node) || isEnum(found.node) || isService(found.node))) return candidate;
  }
  return undefined;
}

/** The Root with its namespaces (and their options) but no declarations yet. */
function emptyRoot(): protobuf.Root {
  const r = new protobuf.Root();
  const names = Object.keys(bundle().namespaces).sort((a, b) => a.split(".").length - b.split(".").length);
  for (const full of names) {
    const p = full.split(".");
    const parent = p.length === 1 ? r : (r.lookup(p.slice(0, -1)) as protobuf.Namespace);
    parent.add(new protobuf.Namespace(p[p.length - 1], bundle().namespaces[full]));
  }
  return r;
}

/** Adds a declaration (and everything it refers to) to the Root. */
function ensure(parts: readonly string[]): void {
  const r = descriptorRoot();
  const first = find(parts);
  if (!first) throw new Error(`files-gateway: no ${parts.join(".")} in the descriptors`);
  const pending = [first.top];
  const toAdd: string[][] = [];
  while (pending.length) {
    const top = pending.pop()!;
    const key = top.join(".");
    if (added.has(key)) continue;
    added.add(key);
    toAdd.push(top);
    // Walk the declaration and its nested types for references.
    const visit = (node: JsonNode, scope: string[]) => {
      for (const f of Object.values(node.fields || {})) {
        const target = resolveName(scope, f.type);
        if (target) pending.push(find(target)!.top);
      }
      for (const m of Object.values(node.methods || {})) {
        for (const t of [m.requestType, m.responseType]) {
          const target = resolveName(scope.slice(0, -1), t);
          if (target) pending.push(find(target)!.top);
        }
      }
      for (const [name, child] of Object.entries(node.nested || {})) visit(child, [...scope, name]);
    };
    visit(decl(key)!, top);
  }
  const objects: protobuf.ReflectionObject[] = [];
  for (const top of toAdd) {
    const node = decl(top.join("."))!;
    const ns = r.lookup(top.slice(0, -1)) as protobuf.Namespace | null;
    if (!ns) throw new Error(`files-gateway: no namespace ${top.slice(0, -1).join(".")} in the descriptors`);
    const name = top[top.length - 1];
    const obj = isType(node) ? protobuf.Type.fromJSON(name, node as protobuf.IType)
      : isEnum(node) ? protobuf.Enum.fromJSON(name, node as protobuf.IEnum)
        : protobuf.Service.fromJSON(name, node as protobuf.IService);
    ns.add(obj);
    objects.push(obj);
  }
  // Everything it refers to is there now: resolve the field and method types.
  for (const obj of objects) {
    if (obj instanceof protobuf.Namespace) obj.resolveAll();
    else obj.resolve();
  }
}

/**
 * The protobufjs Root of the bundle, filled as declarations are needed (use
 * lookupType / lookupService to reach one).
 */
export function descriptorRoot(): protobuf.Root {
  if (!root) root = emptyRoot();
  return root;
}

function parts(name: string): string[] {
  return (name.startsWith(".") ? name.slice(1) : name).split(".");
}

/** A message type by full name ("files.v1.User" or ".files.v1.User"). */
export function lookupType(name: string): protobuf.Type {
  const p = parts(name);
  ensure(p);
  return descriptorRoot().lookupType("." + p.join("."));
}

/** A service by full name ("files.v1.TransferService"). */
export function lookupService(name: string): protobuf.Service {
  const p = parts(name);
  ensure(p);
  return descriptorRoot().lookupService("." + p.join("."));
}

function rpcMethod(service: protobuf.Service, m: protobuf.Method): RpcMethod & { name: string } {
  m.resolve();
  return {
    name: m.name,
    rpcPath: `/${service.fullName.slice(1)}/${m.name}`,
    requestType: m.resolvedRequestType as protobuf.Type,
    responseType: m.resolvedResponseType as protobuf.Type,
  };
}

/** The methods of a service by RPC name (hand-written services such as TransferService). */
export function serviceMethods(fullName: string): Record<string, RpcMethod> {
  const service = lookupService(fullName);
  const out: Record<string, RpcMethod> = {};
  for (const m of service.methodsArray) out[m.name] = rpcMethod(service, m);
  return out;
}

function collect(out: Map<string, Map<string, SdkMethod>>): void {
  for (const row of bundle().surface) {
    // The protobufjs types are built on first use, and only the method's own (and theirs).
    let resolved: { requestType: protobuf.Type; responseType: protobuf.Type } | undefined;
    const types = () => resolved ||
      (resolved = { requestType: lookupType(row.request), responseType: lookupType(row.response) });
    const method = {
      name: row.rpc,
      rpcPath: `/${row.service}/${row.rpc}`,
      resource: row.resource,
      action: row.action,
      service: row.service,
      pathParams: [...row.httpPath.matchAll(PATH_PARAM)].map((x) => x[1]),
      paginated: row.paginated,
      httpMethod: row.httpMethod,
      httpPath: row.httpPath,
    } as Omit<SdkMethod, "requestType" | "responseType">;
    Object.defineProperty(method, "requestType", { get: () => types().requestType, enumerable: true });
    Object.defineProperty(method, "responseType", { get: () => types().responseType, enumerable: true });
    if (!out.has(row.resource)) out.set(row.resource, new Map());
    out.get(row.resource)!.set(row.action, method as SdkMethod);
  }
}

/** SDK resource name -> SDK action name -> method, for every resource. */
export function sdkResources(): Map<string, Map<string, SdkMethod>> {
  if (!resources) {
    const out = new Map<string, Map<string, SdkMethod>>();
    collect(out);
    resources = out;
  }
  return resources;
}
