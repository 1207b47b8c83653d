#!/usr/bin/env node
// Generates everything the package derives from proto/ (never committed, never
// edited by hand) into src/gen/ (or --out):
//
//   types/**.ts          message and enum types (protoc + ts-proto, types only)
//   descriptors.json     the descriptor bundle the runtime encodes, decodes and
//                        discovers services with: protobufjs JSON per declaration,
//                        parsed on first use, and the SDK surface (bundleJson)
//   resources.ts         TypeScript interfaces of every resource and action, the
//                        client attribute names, instance actions of models
//   error_classes.ts     one class per Files.com error group and type, from the
//                        (files.v1.error) options of error_catalog.proto
//
//   node scripts/generate.js [--proto-root DIR] [--out DIR] [--protoc PATH]
"use strict";

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");
const protobuf = require("protobufjs");

const PKG = path.resolve(__dirname, "..");

function parseArgs(argv) {
  const args = {
    protoRoot: process.env.FILESGW_PROTO_ROOT || path.resolve(PKG, "..", "..", "proto"),
    out: path.join(PKG, "src", "gen"),
    protoc: process.env.PROTOC || "protoc",
  };
  for (let i = 2; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--proto-root") args.protoRoot = path.resolve(value);
    else if (flag === "--out") args.out = path.resolve(value);
    else if (flag === "--protoc") args.protoc = value;
    else throw new Error(`unknown flag ${flag}`);
  }
  return args;
}

// --- names -----------------------------------------------------------------

/** "resend_welcome_email" -> "resendWelcomeEmail", "user_2fa_reset" -> "user2faReset". */
function camel(snake) {
  return snake.replace(/_+([a-z0-9])/g, (_, c) => c.toUpperCase());
}

/** "As2Partner" -> "as2Partner", "SFTPHostKey" stays readable: "sftpHostKey". */
function lowerFirst(name) {
  const m = name.match(/^[A-Z]+(?=[A-Z][a-z]|$)|^[A-Z]/);
  return m ? m[0].toLowerCase() + name.slice(m[0].length) : name;
}

/** English plural of a camelCase noun, enough for the Files.com resources. */
function plural(word) {
  if (/[^aeiou]y$/.test(word)) return word.slice(0, -1) + "ies";
  if (/(s|x|z|ch|sh)$/.test(word)) return word + "es";
  return word + "s";
}

// Members of Client a resource attribute must never shadow.
const CLIENT_MEMBERS = new Set([
  "constructor", "channel", "target", "timeoutMs", "transferTimeoutMs", "metadata", "resource",
  "resources", "uploadFile", "downloadFile", "open", "listFor", "close", "then",
  "waitForReady", "transfer", "toString", "toJSON", "inspect", "startResumableUpload",
  "resumableUpload", "queryUploadStatus", "cancelResumableUpload", "grpc",
]);

// --- protos ----------------------------------------------------------------

function listProtos(protoRoot) {
  const files = fs.readdirSync(path.join(protoRoot, "files", "v1"))
    .filter((f) => f.endsWith(".proto")).sort().map((f) => `files/v1/${f}`);
  const rpc = fs.readdirSync(path.join(protoRoot, "google", "rpc"))
    .filter((f) => f.endsWith(".proto")).sort().map((f) => `google/rpc/${f}`);
  return files.concat(rpc);
}

function loadRoot(protoRoot, files) {
  const root = new protobuf.Root();
  const pbDir = path.dirname(require.resolve("protobufjs/package.json"));
  root.resolvePath = (origin, target) => {
    if (target.startsWith("google/protobuf/")) return path.join(pbDir, target);
    return path.join(protoRoot, target);
  };
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

function runTsProto(args, files, outTypes) {
  fs.mkdirSync(outTypes, { recursive: true });
  const plugin = path.join(PKG, "node_modules", ".bin", "protoc-gen-ts_proto");
  const opts = [
    "onlyTypes=true", "snakeToCamel=false", "forceLong=number", "stringEnums=true", "env=node",
    "esModuleInterop=true", "useOptionals=messages", "outputServices=false",
    "exportCommonSymbols=false", "unrecognizedEnum=false",
  ].join(",");
  execFileSync(args.protoc, [
    `--plugin=protoc-gen-ts_proto=${plugin}`, `-I${args.protoRoot}`,
    `--ts_proto_out=${outTypes}`, `--ts_proto_opt=${opts}`,
    ...files.map((f) => path.join(args.protoRoot, f)),
  ], { stdio: "inherit" });
}

// --- the API surface ---------------------------------------------------------

const PATH_PARAM = /\{(\w+)\}/g;

function sdkMethods(root) {
  const out = [];
  const visit = (ns) => {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobuf.Service) {
        for (const m of obj.methodsArray) {
          const o = m.options || {};
          const resource = o["(files.v1.sdk).resource"];
          if (!resource) continue;
          m.resolve();
          out.push({
            resource, action: o["(files.v1.sdk).action"],
            paginated: !!o["(files.v1.sdk).paginated"],
            httpMethod: o["(files.v1.rest).method"], httpPath: o["(files.v1.rest).path"],
            pathParams: [...o["(files.v1.rest).path"].matchAll(PATH_PARAM)].map((x) => x[1]),
            method: m, requestType: m.resolvedRequestType, responseType: m.resolvedResponseType,
          });
        }
      } else if (obj.nestedArray) {
        visit(obj);
      }
    }
  };
  visit(root);
  return out;
}

function typeFile(type) {
  return type.filename.replace(/\\/g, "/");
}

class Imports {
  constructor() { this.aliases = new Map(); }
  ref(type) {
    // google.protobuf.Empty has no use as a type here: callers get void.
    const file = typeFile(type).replace(/^.*?((files|google)\/)/, "$1");
    let alias = this.aliases.get(file);
    if (!alias) {
      alias = "t_" + file.replace(/\.proto$/, "").replace(/[^A-Za-z0-9]/g, "_");
      this.aliases.set(file, alias);
    }
    return `${alias}.${type.name}`;
  }
  render() {
    return [...this.aliases].sort().map(([file, alias]) =>
      `import type * as ${alias} from "./types/${file.replace(/\.proto$/, "")}";`).join("\n");
  }
}

function tsScalar(field, imports) {
  if (field.resolvedType) return imports.ref(field.resolvedType);
  switch (field.type) {
    case "string": return "string";
    case "bool": return "boolean";
    case "bytes": return "Buffer";
    default: return "number";
  }
}

function isListResponse(type) {
  const names = Object.keys(type.fields);
  return names.includes("items") && names.every((n) => n === "items" || n === "next_cursor");
}

// Hand-written methods some resources and models have besides their actions
// (src/file_extras.ts: the JS SDK's File.uploadFile, file.downloadToFile, ...).
const EXTRAS = { File: { resource: "FileResourceExtras", model: "FileModelExtras" } };

function generateResources(root, methods) {
  const imports = new Imports();
  const byResource = new Map();
  for (const m of methods) {
    if (!byResource.has(m.resource)) byResource.set(m.resource, []);
    byResource.get(m.resource).push(m);
  }
  const resources = [...byResource.keys()].sort();

  // Instance actions: a model named like its resource gets every action of that
  // resource whose path params are all fields of the model (user.update({...})).
  const instanceActions = new Map();
  for (const name of resources) {
    const type = root.lookup(`files.v1.${name}`);
    if (!(type instanceof protobuf.Type)) continue;
    const acts = byResource.get(name).filter((m) => m.pathParams.length > 0 &&
      m.pathParams.every((p) => type.fields[p]) && !type.fields[camel(m.action)] &&
      !type.fields[m.action]);
    if (acts.length) instanceActions.set(type.fullName, { type, acts });
  }
  const modelType = (type) => instanceActions.has(type.fullName)
    ? `${type.name}Model` : `Model<${imports.ref(type)}>`;

  const resultType = (m) => {
    const rt = m.responseType;
    if (rt.fullName === ".google.protobuf.Empty") return "Promise<void>";
    if (m.paginated) return `ListPromise<${modelType(rt.fields.items.resolvedType)}>`;
    if (isListResponse(rt)) {
      const item = rt.fields.items.resolvedType;
      return `Promise<Array<${item ? modelType(item) : tsScalar(rt.fields.items, imports)}>>`;
    }
    return `Promise<${modelType(rt)}>`;
  };
  const signature = (m, bound) => {
    const req = imports.ref(m.requestType);
    const args = bound ? [] : m.pathParams.map((p) =>
      `${camel(p)}: NonNullable<${req}[${JSON.stringify(p)}]>`);
    args.push(`params?: Params<${req}> | null`, "options?: CallOptions");
    return `(${args.join(", ")}): ${resultType(m)}`;
  };
  const doc = (m) => `  /** ${m.resource}.${m.action}: ${m.httpMethod} ${m.httpPath}` +
    `${m.paginated ? " (paginated)" : ""} */`;

  const lines = [];
  for (const name of resources) {
    lines.push(`/** Files.com ${name}: the actions of the SDK's ${name} class. */`);
    const extra = EXTRAS[name] ? `, ${EXTRAS[name].resource}` : "";
    lines.push(`export interface ${name}Resource extends ResourceBase${extra} {`);
    const seen = new Set();
    for (const m of byResource.get(name).sort((a, b) => a.action.localeCompare(b.action))) {
      const fn = camel(m.action);
      if (seen.has(fn)) throw new Error(`${name}: two actions named ${fn}`);
      seen.add(fn);
      lines.push(doc(m), `  ${fn}${signature(m, false)};`);
    }
    lines.push("}", "");
  }
  for (const [, { type, acts }] of [...instanceActions].sort()) {
    lines.push(`/** A ${type.name} returned by the API, with the actions that act on it. */`);
    const extra = EXTRAS[type.name] ? ` & ${EXTRAS[type.name].model}` : "";
    lines.push(`export type ${type.name}Model = Model<${imports.ref(type)}>${extra} & {`);
    for (const m of acts.sort((a, b) => a.action.localeCompare(b.action))) {
      lines.push(doc(m), `  ${camel(m.action)}${signature(m, true)};`);
    }
    lines.push("};", "");
  }

  // Client attributes: camelCase plural and singular, and the SDK name; a name two resources
  // could claim, or one Client already uses, belongs to none.
  // The SDK class name itself (client.User, client.File) too, as the JS SDK spells them.
  const claims = new Map();
  for (const name of resources) {
    const single = lowerFirst(name);
    for (const attr of [plural(single), single, name]) {
      if (!claims.has(attr)) claims.set(attr, new Set());
      claims.get(attr).add(name);
    }
  }
  const attributes = [...claims].filter(([a, r]) => r.size === 1 && !CLIENT_MEMBERS.has(a))
    .map(([a, r]) => [a, [...r][0]]).sort();
  lines.push("/** Every resource, by the client attribute that reaches it. */");
  lines.push("export interface Resources {");
  for (const [attr, name] of attributes) lines.push(`  readonly ${attr}: ${name}Resource;`);
  lines.push("}", "");
  lines.push("/** Every resource by its SDK name. */");
  lines.push("export interface ResourcesByName {");
  for (const name of resources) lines.push(`  ${name}: ${name}Resource;`);
  lines.push("}", "");
  lines.push("/** Client attribute -> SDK resource name. */");
  lines.push("export const RESOURCE_ATTRIBUTES: Readonly<Record<string, keyof ResourcesByName>> = {");
  for (const [attr, name] of attributes) lines.push(`  ${attr}: ${JSON.stringify(name)},`);
  lines.push("};", "");
  lines.push(`export const RESOURCE_COUNT = ${resources.length};`);
  lines.push(`export const ACTION_COUNT = ${methods.length};`, "");

  const head = [
    "// Code generated by scripts/generate.js from proto/. DO NOT EDIT.",
    "/* eslint-disable */",
    'import type { CallOptions, ListPromise, Model, Params, ResourceBase } from "../types";',
    `import type { ${Object.values(EXTRAS).flatMap((e) => [e.resource, e.model]).sort().join(", ")} } from "../file_extras";`,
    imports.render(), "",
  ];
  return head.concat(lines).join("\n");
}

// --- errors ------------------------------------------------------------------

function catalogEntries(root, enumName, prefix) {
  const en = root.lookupEnum(enumName);
  const out = [];
  for (const [value] of Object.entries(en.values).sort((a, b) => a[1] - b[1])) {
    const o = (en.valuesOptions || {})[value];
    if (!o || !o["(files.v1.error).class_name"]) continue;
    out.push({
      reason: value.slice(prefix.length), type: o["(files.v1.error).type"],
      className: o["(files.v1.error).class_name"], group: o["(files.v1.error).group"] || "",
      httpStatus: o["(files.v1.error).http_status"] || 0, title: o["(files.v1.error).title"] || "",
    });
  }
  return out;
}

const BASE_CLASSES = ["FilesError", "Error", "APIConnectionError", "DeadlineExceededError",
  "CancelledError", "InvalidRequestError", "InvalidParameterError", "MissingParameterError",
  "APIError", "GatewayError", "DataLossError"];

function generateErrors(root) {
  const groups = catalogEntries(root, "files.v1.ErrorGroup", "ERROR_GROUP_");
  const types = catalogEntries(root, "files.v1.ErrorType", "ERROR_TYPE_");
  const defined = new Set(BASE_CLASSES);
  const lines = [
    "// Code generated by scripts/generate.js from proto/files/v1/error_catalog.proto. DO NOT EDIT.",
    "/* eslint-disable */",
    'import { APIError } from "../errors_base";', "",
  ];
  const all = [];
  const emit = (e, parent) => {
    if (defined.has(e.className) || !/^[A-Z][A-Za-z0-9]*$/.test(e.className)) return;
    defined.add(e.className);
    all.push(e.className);
    const what = e.title || e.className;
    lines.push(`/** ${what} (Files.com type "${e.type}"${e.httpStatus ? `, HTTP ${e.httpStatus}` : ""}). */`);
    lines.push(`export class ${e.className} extends ${parent} {`);
    lines.push(`  static readonly filesType: string = ${JSON.stringify(e.type)};`);
    lines.push(`  static readonly catalogReason: string = ${JSON.stringify(e.reason)};`);
    lines.push(`  static readonly catalogHttpStatus: number = ${e.httpStatus};`);
    lines.push(`  static readonly catalogTitle: string = ${JSON.stringify(e.title)};`);
    lines.push("}", "");
  };
  const groupClass = new Map();
  for (const g of groups) {
    emit(g, "APIError");
    groupClass.set(g.type, g.className);
  }
  for (const t of types) {
    const parent = (t.group && defined.has(t.group) && t.group) ||
      groupClass.get(t.type.split("/")[0]) || "APIError";
    emit(t, parent);
  }
  // The JS SDK's names ("NotFound_UserNotFoundError" for not-found/user-not-found):
  // the same classes under a second name.
  const pascal = (part) => part.split("-").filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join("");
  const aliases = [];
  for (const e of types) {
    const parts = e.type.split("/");
    if (parts.length !== 2 || !all.includes(e.className)) continue;
    const sdkName = `${pascal(parts[0])}_${pascal(parts[1])}Error`;
    if (defined.has(sdkName) || !/^[A-Z][A-Za-z0-9_]*$/.test(sdkName)) continue;
    defined.add(sdkName);
    aliases.push([sdkName, e.className]);
    lines.push(`/** The Files.com JS SDK's name of ${e.className}. */`);
    lines.push(`export const ${sdkName} = ${e.className};`);
    lines.push(`export type ${sdkName} = ${e.className};`);
  }
  lines.push("");
  lines.push("/** The JS SDK's class names -> this package's classes. */");
  lines.push("export const SDK_ALIASES: Readonly<Record<string, typeof APIError>> = {");
  for (const [alias, name] of aliases) lines.push(`  ${alias}: ${name},`);
  lines.push("};", "");
  lines.push("/** Every catalogue class, groups first. */");
  lines.push(`export const CATALOG_CLASSES: ReadonlyArray<typeof APIError & { readonly filesType: string }> = [`);
  for (const name of all) lines.push(`  ${name},`);
  lines.push("];", "");
  lines.push(`export const CATALOG_GROUP_COUNT = ${groups.length};`);
  lines.push(`export const CATALOG_TYPE_COUNT = ${types.length};`, "");
  return lines.join("\n");
}

// --- the runtime's descriptor bundle -----------------------------------------------

/**
 * What src/descriptors.ts reads at run time, laid out for a cheap start:
 *   namespaces  {"files.v1": options, ...}: the packages
 *   decls       {"files.v1.User": "<protobufjs JSON of the message, as a string>", ...}:
 *               every top-level message, enum and service, parsed only when a call needs it
 *   surface     one row per SDK action (resource, action, RPC, full type names, REST
 *               binding), enough to build every resource without touching a type
 * (parsedOptions, a second copy of the options the runtime does not read, are left out.)
 */
function bundleJson(root, methods) {
  const strip = (node) => {
    if (node && typeof node === "object") {
      delete node.parsedOptions;
      for (const v of Object.values(node)) strip(v);
    }
    return node;
  };
  const json = root.toJSON();
  const namespaces = {};
  const decls = {};
  const walk = (node, scope) => {
    for (const [name, child] of Object.entries(node.nested || {})) {
      const full = [...scope, name].join(".");
      if (child.fields || child.values || child.methods) {
        decls[full] = JSON.stringify(strip(child));
      } else {
        namespaces[full] = child.options || {};
        walk(child, [...scope, name]);
      }
    }
  };
  walk(json, []);
  const surface = methods.map((m) => ({
    service: m.method.parent.fullName.slice(1), rpc: m.method.name, resource: m.resource, action: m.action,
    request: m.requestType.fullName.slice(1), response: m.responseType.fullName.slice(1),
    paginated: m.paginated, httpMethod: m.httpMethod, httpPath: m.httpPath,
  }));
  return { format: "files-gateway-descriptors/2", namespaces, decls, surface };
}

// --- main --------------------------------------------------------------------

function writeIfChanged(file, text) {
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === text) return;
  fs.writeFileSync(file, text);
}

function main() {
  const args = parseArgs(process.argv);
  const files = listProtos(args.protoRoot);
  const root = loadRoot(args.protoRoot, files);
  fs.rmSync(path.join(args.out, "types"), { recursive: true, force: true });
  fs.mkdirSync(args.out, { recursive: true });
  runTsProto(args, files, path.join(args.out, "types"));
  // One module re-exporting every files.v1 type (message names are unique in the package).
  const v1 = path.join(args.out, "types", "files", "v1");
  const modules = fs.readdirSync(v1).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort();
  fs.writeFileSync(path.join(v1, "index.ts"), "// Code generated by scripts/generate.js. DO NOT EDIT.\n" +
    modules.map((m) => `export type * from "./${m}";`).join("\n") + "\n");
  const methods = sdkMethods(root);
  writeIfChanged(path.join(args.out, "descriptors.json"), JSON.stringify(bundleJson(root, methods)));
  writeIfChanged(path.join(args.out, "resources.ts"), generateResources(root, methods));
  writeIfChanged(path.join(args.out, "error_classes.ts"), generateErrors(root));
  console.log(`generate: ${files.length} protos, ${methods.length} SDK actions -> ${args.out}`);
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error(`generate: ${e.stack || e}`);
    process.exit(1);
  }
}

module.exports = { camel, lowerFirst, plural };
