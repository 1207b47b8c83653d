// The API surface, read at run time from the descriptor bundle generated from
// proto/ (gen/descriptors.json). Every files.v1 method with a (files.v1.sdk)
// option is an SDK action: resource "User", action "list", its request and
// response types, the request fields its REST path names ("/users/{id}" -> id)
// and whether it pages. Nothing here is written per resource.
//
// Start cost: building protobufjs objects for all ~750 messages took ~300 ms of
// CPU, so the Root is filled lazily: the bundle is parsed once (JSON), the SDK
// surface is read from the JSON itself, and a message type (with the types it
// refers to, transitively) becomes a protobufjs Type the first time a call
// needs it.
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

/** A namespace, message, enum or service of the protobufjs JSON bundle. */
interface JsonNode {
  nested?: Record<string, JsonNode>;
  fields?: Record<string, { type: string; keyType?: string }>;
  values?: Record<string, number>;
  methods?: Record<string, { requestType: string; responseType: string; options?: Record<string, unknown> }>;
  options?: Record<string, unknown>;
}

let json: JsonNode | undefined;
let root: protobuf.Root | undefined;
let resources: Map<string, Map<string, SdkMethod>> | undefined;
const added = new Set<string>();   // top-level declarations already in the Root ("files.v1.User")

/** Where the bundle lives; FILESGW_NODE_DESCRIPTORS overrides it (tests). */
function bundlePath(): string {
  return process.env.FILESGW_NODE_DESCRIPTORS || path.join(__dirname, "gen", "descriptors.json");
}

function bundle(): JsonNode {
  if (!json) {
    const file = bundlePath();
    try {
      json = JSON.parse(fs.readFileSync(file, "utf8")) as JsonNode;
    } catch (e) {
      throw new Error(`files-gateway: cannot read the generated descriptors ${file} ` +
        `(run \`npm run build\`): ${(e as Error).message}`);
    }
  }
  return json;
}

const isType = (n: JsonNode) => n.fields !== undefined;
const isEnum = (n: JsonNode) => n.values !== undefined;
const isService = (n: JsonNode) => n.methods !== undefined;

/** The JSON node at a dotted path, or undefined. */
function nodeAt(parts: readonly string[]): JsonNode | undefined {
  let node: JsonNode | undefined = bundle();
  for (const p of parts) {
    node = node?.nested?.[p];
    if (!node) return undefined;
  }
  return node;
}

/** Resolves a type reference as protobuf does: from the innermost scope outwards. */
function resolveName(scope: readonly string[], name: string): string[] | undefined {
  if (name.startsWith(".")) {
    const parts = name.slice(1).split(".");
    return nodeAt(parts) ? parts : undefined;
  }
  const parts = name.split(".");
  for (let i = scope.length; i >= 0; i--) {
    const candidate = [...scope.slice(0, i), ...parts];
    const node = nodeAt(candidate);
    if (node && (isType(node) || isEnum(node) || isService(node))) return candidate;
  }
  return undefined;
}

/** The declaration directly under a plain namespace holding parts (a nested type's outermost message). */
function topLevel(parts: readonly string[]): string[] {
  let node: JsonNode | undefined = bundle();
  for (let i = 0; i < parts.length; i++) {
    node = node?.nested?.[parts[i]];
    if (node && (isType(node) || isEnum(node) || isService(node))) return parts.slice(0, i + 1);
  }
  return [...parts];
}

/** The Root with its namespaces (and their options) but no declarations yet. */
function emptyRoot(): protobuf.Root {
  const r = new protobuf.Root();
  const walk = (node: JsonNode, ns: protobuf.Namespace) => {
    for (const [name, child] of Object.entries(node.nested || {})) {
      if (isType(child) || isEnum(child) || isService(child)) continue;
      const sub = new protobuf.Namespace(name, child.options as Record<string, unknown> | undefined);
      ns.add(sub);
      walk(child, sub);
    }
  };
  walk(bundle(), r);
  return r;
}

/** Adds a declaration (and everything it refers to) to the Root. */
function ensure(parts: readonly string[]): void {
  const r = descriptorRoot();
  const pending = [topLevel(parts)];
  const toAdd: string[][] = [];
  while (pending.length) {
    const decl = pending.pop()!;
    const key = decl.join(".");
    if (added.has(key)) continue;
    added.add(key);
    toAdd.push(decl);
    // Walk the declaration and its nested types for references.
    const visit = (node: JsonNode, scope: string[]) => {
      for (const f of Object.values(node.fields || {})) {
        const target = resolveName(scope, f.type);
        if (target) pending.push(topLevel(target));
      }
      for (const m of Object.values(node.methods || {})) {
        for (const t of [m.requestType, m.responseType]) {
          const target = resolveName(scope.slice(0, -1), t);
          if (target) pending.push(topLevel(target));
        }
      }
      for (const [name, child] of Object.entries(node.nested || {})) visit(child, [...scope, name]);
    };
    visit(nodeAt(decl)!, decl);
  }
  const objects: protobuf.ReflectionObject[] = [];
  for (const decl of toAdd) {
    const node = nodeAt(decl)!;
    const ns = r.lookup(decl.slice(0, -1)) as protobuf.Namespace | null;
    if (!ns) throw new Error(`files-gateway: no namespace ${decl.slice(0, -1).join(".")} in the descriptors`);
    const name = decl[decl.length - 1];
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
  if (!nodeAt(p)) throw new Error(`no type ${name} in the descriptors`);
  ensure(p);
  return descriptorRoot().lookupType("." + p.join("."));
}

/** A service by full name ("files.v1.TransferService"). */
export function lookupService(name: string): protobuf.Service {
  const p = parts(name);
  if (!nodeAt(p)) throw new Error(`no service ${name} in the descriptors`);
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

function collect(node: JsonNode, scope: string[], out: Map<string, Map<string, SdkMethod>>): void {
  for (const [name, child] of Object.entries(node.nested || {})) {
    if (isService(child)) {
      const service = [...scope, name].join(".");
      for (const [rpc, m] of Object.entries(child.methods || {})) {
        const o = m.options || {};
        const resource = o["(files.v1.sdk).resource"] as string | undefined;
        if (!resource) continue; // hand-written services have their own API
        const httpPath = String(o["(files.v1.rest).path"] || "");
        // Only the method's own types (and theirs), not the whole service's.
        let resolved: { requestType: protobuf.Type; responseType: protobuf.Type } | undefined;
        const typeOf = (t: string) => {
          const p = resolveName([...scope, name], t);
          if (!p) throw new Error(`files-gateway: ${service}.${rpc} names an unknown type ${t}`);
          return lookupType(p.join("."));
        };
        const types = () => resolved ||
          (resolved = { requestType: typeOf(m.requestType), responseType: typeOf(m.responseType) });
        const method = {
          name: rpc,
          rpcPath: `/${service}/${rpc}`,
          resource,
          action: String(o["(files.v1.sdk).action"]),
          service,
          pathParams: [...httpPath.matchAll(PATH_PARAM)].map((x) => x[1]),
          paginated: Boolean(o["(files.v1.sdk).paginated"]),
          httpMethod: String(o["(files.v1.rest).method"] || ""),
          httpPath,
        } as Omit<SdkMethod, "requestType" | "responseType">;
        // The protobufjs types are built on first use.
        Object.defineProperty(method, "requestType", { get: () => types().requestType, enumerable: true });
        Object.defineProperty(method, "responseType", { get: () => types().responseType, enumerable: true });
        if (!out.has(resource)) out.set(resource, new Map());
        out.get(resource)!.set(method.action, method as SdkMethod);
      }
    } else if (!isType(child) && !isEnum(child)) {
      collect(child, [...scope, name], out);
    }
  }
}

/** SDK resource name -> SDK action name -> method, for every resource. */
export function sdkResources(): Map<string, Map<string, SdkMethod>> {
  if (!resources) {
    const out = new Map<string, Map<string, SdkMethod>>();
    collect(bundle(), [], out);
    resources = out;
  }
  return resources;
}
