// The API surface, read at run time from the descriptor bundle generated from
// proto/ (gen/descriptors.json). Every files.v1 method with a (files.v1.sdk)
// option is an SDK action: resource "User", action "list", its request and
// response types, the request fields its REST path names ("/users/{id}" -> id)
// and whether it pages. Nothing here is written per resource.
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

let root: protobuf.Root | undefined;
let resources: Map<string, Map<string, SdkMethod>> | undefined;

/** Where the bundle lives; FILESGW_NODE_DESCRIPTORS overrides it (tests). */
function bundlePath(): string {
  return process.env.FILESGW_NODE_DESCRIPTORS || path.join(__dirname, "gen", "descriptors.json");
}

/** The protobufjs root holding every files.v1 and google.rpc type (loaded once). */
export function descriptorRoot(): protobuf.Root {
  if (!root) {
    const file = bundlePath();
    let json: protobuf.INamespace;
    try {
      json = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      throw new Error(`files-gateway: cannot read the generated descriptors ${file} ` +
        `(run \`npm run build\`): ${(e as Error).message}`);
    }
    root = protobuf.Root.fromJSON(json);
  }
  return root;
}

/** A message type by full name ("files.v1.User" or ".files.v1.User"). */
export function lookupType(name: string): protobuf.Type {
  return descriptorRoot().lookupType(name.startsWith(".") ? name : "." + name);
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
  const service = descriptorRoot().lookupService(fullName);
  const out: Record<string, RpcMethod> = {};
  for (const m of service.methodsArray) out[m.name] = rpcMethod(service, m);
  return out;
}

function collect(ns: protobuf.NamespaceBase, out: Map<string, Map<string, SdkMethod>>): void {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Service) {
      for (const m of obj.methodsArray) {
        const o = (m.options || {}) as Record<string, unknown>;
        const resource = o["(files.v1.sdk).resource"] as string | undefined;
        if (!resource) continue; // hand-written services have their own API
        const httpPath = String(o["(files.v1.rest).path"] || "");
        const method: SdkMethod = {
          ...rpcMethod(obj, m),
          resource,
          action: String(o["(files.v1.sdk).action"]),
          service: obj.fullName.slice(1),
          pathParams: [...httpPath.matchAll(PATH_PARAM)].map((x) => x[1]),
          paginated: Boolean(o["(files.v1.sdk).paginated"]),
          httpMethod: String(o["(files.v1.rest).method"] || ""),
          httpPath,
        };
        if (!out.has(resource)) out.set(resource, new Map());
        out.get(resource)!.set(method.action, method);
      }
    } else if (obj instanceof protobuf.Namespace) {
      collect(obj, out);
    }
  }
}

/** SDK resource name -> SDK action name -> method, for every resource. */
export function sdkResources(): Map<string, Map<string, SdkMethod>> {
  if (!resources) {
    const out = new Map<string, Map<string, SdkMethod>>();
    collect(descriptorRoot(), out);
    resources = out;
  }
  return resources;
}
