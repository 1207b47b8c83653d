// JavaScript values <-> protobuf messages, driven by the descriptors.
//
// fill() maps SDK-style parameters onto the plain object protobufjs encodes,
// checking every key and value against the request type (with the coercions
// callers rely on: "42" for an int64, a Date for a date-time string, "true" for
// a boolean), maps (sort_by, filter, ...), nested messages, repeated fields and
// google.protobuf.Struct / Value / ListValue fields from plain JSON values.
// Keys are Files.com names: the proto field names; an explicit json_name
// ("subfolders_locked?") and the camelCase spelling are accepted too.
//
// toPlain() is the way back: a decoded message as a plain object keyed by field
// name, unset optional fields left out, int64 as numbers, enums as names,
// Struct fields as plain objects.
import * as protobuf from "protobufjs";
import { InvalidParameterError } from "./errors_base";

const INTS = new Set(["int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
  "fixed64", "sfixed32", "sfixed64"]);
const LONGS = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const FLOATS = new Set(["double", "float"]);
const STRUCT = ".google.protobuf.Struct";
const LIST_VALUE = ".google.protobuf.ListValue";
const VALUE = ".google.protobuf.Value";

type Plain = Record<string, unknown>;

function bad(where: string, message: string): InvalidParameterError {
  return new InvalidParameterError(`${where}: ${message}`);
}

function show(value: unknown): string {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    return typeof value;
  }
}

function isPlainObject(v: unknown): v is Plain {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null || !(Symbol.iterator in (v as object));
}

function isList(v: unknown): v is Iterable<unknown> {
  return v !== null && typeof v === "object" && Symbol.iterator in (v as object) &&
    !(v instanceof Uint8Array) && !(v instanceof Map);
}

const keyIndexes = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

function lowerCamel(name: string): string {
  return name.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The field a Files.com key names (field name, json_name or camelCase), or undefined. */
export function fieldForKey(type: protobuf.Type, key: string): protobuf.Field | undefined {
  let index = keyIndexes.get(type);
  if (!index) {
    index = new Map();
    for (const f of type.fieldsArray) index.set(f.name, f);
    for (const f of type.fieldsArray) {
      const json = f.options?.json_name as string | undefined;
      if (json && !index.has(json)) index.set(json, f);
      const c = lowerCamel(f.name);
      if (!index.has(c)) index.set(c, f);
    }
    keyIndexes.set(type, index);
  }
  return index.get(key);
}

/** The Files.com key of a field: an explicit json_name ("subfolders_locked?") else the name. */
export function jsonKey(field: protobuf.Field): string {
  return (field.options?.json_name as string | undefined) || field.name;
}

function typeName(field: protobuf.Field): string {
  if (field.resolvedType) return field.resolvedType.fullName.slice(1);
  if (INTS.has(field.type)) return "integer";
  if (FLOATS.has(field.type)) return "number";
  return field.type === "bool" ? "boolean" : field.type;
}

function scalar(field: protobuf.Field, type: string, value: unknown, where: string): unknown {
  const fail = () => bad(where, `${show(value)} is not a valid ${typeName(field)}`);
  if (type === "string") {
    if (typeof value === "string") return value;
    if (typeof value === "boolean") return value ? "true" : "false";
    if (value instanceof Date) return value.toISOString();
    if (typeof value === "number" || typeof value === "bigint") return String(value);
    throw fail();
  }
  if (INTS.has(type)) {
    let n: number | bigint | undefined;
    if (typeof value === "number" && Number.isInteger(value)) n = value;
    else if (typeof value === "bigint") n = value;
    else if (typeof value === "string" && /^\s*[-+]?\d+\s*$/.test(value)) n = BigInt(value.trim());
    if (n === undefined) throw fail();
    if (typeof n === "bigint") {
      if (!LONGS.has(type) || (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER))) {
        return Number(n);
      }
      return n.toString(); // protobufjs encodes int64 strings exactly
    }
    return n;
  }
  if (type === "bool") {
    if (typeof value === "boolean") return value;
    if (value === 0 || value === 1) return value === 1;
    if (typeof value === "string" && /^(true|false|1|0)$/i.test(value)) {
      return /^(true|1)$/i.test(value);
    }
    throw fail();
  }
  if (FLOATS.has(type)) {
    if (typeof value === "number") return value;
    if (typeof value === "bigint") return Number(value);
    if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) {
      return Number(value);
    }
    throw fail();
  }
  if (type === "bytes") {
    if (Buffer.isBuffer(value)) return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (typeof value === "string") return Buffer.from(value, "utf8");
    throw fail();
  }
  throw fail();
}

function enumValue(field: protobuf.Field, en: protobuf.Enum, value: unknown, where: string): number {
  if (typeof value === "string" && value in en.values) return en.values[value];
  if (typeof value === "number" && value in en.valuesById) return value;
  throw bad(where, `${show(value)} is not a valid ${typeName(field)} (one of ${Object.keys(en.values).join(", ")})`);
}

// --- google.protobuf.Struct / Value / ListValue --------------------------------
// By field number: protobufjs' built-in definitions spell these fields in camelCase.

function fieldName(type: protobuf.Type, id: number): string {
  return type.fieldsById[id].name;
}

function toJsonValue(v: unknown, where: string): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "bigint") return Number(v);
  if (Buffer.isBuffer(v)) return v.toString("base64");
  return v;
}

function valueFromJs(valueType: protobuf.Type, v: unknown, where: string): Plain {
  const structType = valueType.fieldsById[5].resolvedType as protobuf.Type;
  const listType = valueType.fieldsById[6].resolvedType as protobuf.Type;
  v = toJsonValue(v, where);
  if (v === null || v === undefined) return { [fieldName(valueType, 1)]: 0 };
  if (typeof v === "number") return { [fieldName(valueType, 2)]: v };
  if (typeof v === "string") return { [fieldName(valueType, 3)]: v };
  if (typeof v === "boolean") return { [fieldName(valueType, 4)]: v };
  if (isList(v)) return { [fieldName(valueType, 6)]: listFromJs(listType, v, where) };
  if (isPlainObject(v)) return { [fieldName(valueType, 5)]: structFromJs(structType, v, where) };
  throw bad(where, `${show(v)} is not a JSON value`);
}

function structFromJs(structType: protobuf.Type, v: unknown, where: string): Plain {
  if (!isPlainObject(v)) throw bad(where, `expected an object, got ${show(v)}`);
  const valueType = structType.fieldsById[1].resolvedType as protobuf.Type;
  const fields: Plain = {};
  for (const [k, item] of Object.entries(v)) {
    if (item === undefined) continue;
    fields[k] = valueFromJs(valueType, item, `${where}.${k}`);
  }
  return { [fieldName(structType, 1)]: fields };
}

function listFromJs(listType: protobuf.Type, v: unknown, where: string): Plain {
  if (!isList(v)) throw bad(where, `expected a list, got ${show(v)}`);
  const valueType = listType.fieldsById[1].resolvedType as protobuf.Type;
  return { [fieldName(listType, 1)]: [...v].map((x, i) => valueFromJs(valueType, x, `${where}[${i}]`)) };
}

function valueToJs(valueType: protobuf.Type, m: Plain): unknown {
  for (const id of [1, 2, 3, 4, 5, 6]) {
    const name = fieldName(valueType, id);
    if (!Object.prototype.hasOwnProperty.call(m, name) || m[name] === null) continue;
    const v = m[name];
    if (id === 1) return null;
    if (id === 5) return structToJs(valueType.fieldsById[5].resolvedType as protobuf.Type, v as Plain);
    if (id === 6) return listToJs(valueType.fieldsById[6].resolvedType as protobuf.Type, v as Plain);
    return v;
  }
  return null;
}

function structToJs(structType: protobuf.Type, m: Plain): Plain {
  const valueType = structType.fieldsById[1].resolvedType as protobuf.Type;
  const out: Plain = {};
  const fields = (m[fieldName(structType, 1)] || {}) as Record<string, Plain>;
  for (const [k, v] of Object.entries(fields)) out[k] = valueToJs(valueType, v);
  return out;
}

function listToJs(listType: protobuf.Type, m: Plain): unknown[] {
  const valueType = listType.fieldsById[1].resolvedType as protobuf.Type;
  const values = (m[fieldName(listType, 1)] || []) as Plain[];
  return values.map((v) => valueToJs(valueType, v));
}

// --- params -> message ---------------------------------------------------------

function single(field: protobuf.Field, valueType: string, resolved: protobuf.ReflectionObject | null,
  value: unknown, where: string): unknown {
  if (resolved instanceof protobuf.Enum) return enumValue(field, resolved, value, where);
  if (resolved instanceof protobuf.Type) {
    switch (resolved.fullName) {
      case STRUCT: return structFromJs(resolved, value, where);
      case LIST_VALUE: return listFromJs(resolved, value, where);
      case VALUE: return valueFromJs(resolved, value, where);
      default:
        if (!isPlainObject(value)) throw bad(where, `expected an object, got ${show(value)}`);
        return fill(resolved, value, where);
    }
  }
  return scalar(field, valueType, value, where);
}

/**
 * The object protobufjs encodes as `type`, from Files.com-style params. null
 * and undefined values are skipped. Throws InvalidParameterError for unknown
 * keys and values that do not fit.
 */
export function fill(type: protobuf.Type, params: unknown, where?: string): Plain {
  where = where || type.name;
  if (params === null || params === undefined) return {};
  if (!isPlainObject(params)) throw bad(where, `parameters must be an object, got ${show(params)}`);
  const out: Plain = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined) continue;
    const field = fieldForKey(type, key);
    if (!field) throw bad(where, `unknown parameter ${JSON.stringify(key)}`);
    field.resolve();
    const at = `${where}.${key}`;
    if (field instanceof protobuf.MapField) {
      const entries = value instanceof Map ? [...value.entries()] :
        isPlainObject(value) ? Object.entries(value) : undefined;
      if (!entries) throw bad(at, `expected an object, got ${show(value)}`);
      const map: Plain = {};
      for (const [k, v] of entries) {
        if (v === null || v === undefined) continue;
        const mk = String(scalar(field, field.keyType, k, at));
        map[mk] = single(field, field.type, field.resolvedType, v, `${at}[${JSON.stringify(k)}]`);
      }
      out[field.name] = map;
    } else if (field.repeated) {
      if (!isList(value) || typeof value === "string") throw bad(at, `expected a list, got ${show(value)}`);
      out[field.name] = [...value].map((v, i) =>
        single(field, field.type, field.resolvedType, v, `${at}[${i}]`));
    } else {
      out[field.name] = single(field, field.type, field.resolvedType, value, at);
    }
  }
  return out;
}

// --- message -> plain ------------------------------------------------------------

function longToNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return Number(v);
  const long = v as { toNumber?: () => number };
  return long && typeof long.toNumber === "function" ? long.toNumber() : Number(v);
}

function plainSingle(field: protobuf.Field, resolved: protobuf.ReflectionObject | null, v: unknown): unknown {
  if (resolved instanceof protobuf.Enum) {
    const name = resolved.valuesById[v as number];
    return name === undefined ? v : name;
  }
  if (resolved instanceof protobuf.Type) {
    switch (resolved.fullName) {
      case STRUCT: return structToJs(resolved, v as Plain);
      case LIST_VALUE: return listToJs(resolved, v as Plain);
      case VALUE: return valueToJs(resolved, v as Plain);
      default: return toPlain(resolved, v as Plain);
    }
  }
  if (LONGS.has(field.type)) return longToNumber(v);
  if (field.type === "bytes" && !Buffer.isBuffer(v)) return Buffer.from(v as Uint8Array);
  return v;
}

function hasPresence(field: protobuf.Field): boolean {
  return Boolean(field.options?.proto3_optional) || field.partOf !== null ||
    field.resolvedType instanceof protobuf.Type;
}

/** A decoded message as a plain object (see the module comment). */
export function toPlain(type: protobuf.Type, message: Plain): Plain {
  const out: Plain = {};
  const own = (name: string) => Object.prototype.hasOwnProperty.call(message, name);
  for (const field of type.fieldsArray) {
    field.resolve();
    const v = message[field.name];
    if (field instanceof protobuf.MapField) {
      const map: Plain = {};
      for (const [k, item] of Object.entries((v || {}) as Plain)) {
        map[k] = plainSingle(field, field.resolvedType, item);
      }
      out[field.name] = map;
    } else if (field.repeated) {
      out[field.name] = ((v || []) as unknown[]).map((item) => plainSingle(field, field.resolvedType, item));
    } else if (hasPresence(field)) {
      if (own(field.name) && v !== null && v !== undefined) {
        out[field.name] = plainSingle(field, field.resolvedType, v);
      }
    } else {
      out[field.name] = plainSingle(field, field.resolvedType, v === undefined || v === null ? field.typeDefault : v);
    }
  }
  return out;
}
