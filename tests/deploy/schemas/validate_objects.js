#!/usr/bin/env node
// Validates Kubernetes objects against Kubernetes' own API schemas, as
// published by npm `kubernetes-models` (generated from the OpenAPI document
// of the Kubernetes release it names; pinned in package-lock.json).
//
//   node validate_objects.js OBJECTS.json   (a JSON array of objects)
//
// Prints a JSON array, one entry per object: {kind, name, problems: [...]},
// and exits 0 (the caller decides; problems may be expected in its tests).
//
// Two kinds of problem:
//   - the schema's: a wrong type, a missing required field, a bad enum value;
//   - unknown fields: kubernetes-models' validators (compiled ajv) do not
//     reject properties a schema does not declare, but the API server does
//     (kubectl's default --validate=strict since 1.27). So each object is
//     validated through a Proxy that records which properties the validators
//     read: a compiled validator reads every property its schema declares (and
//     every key of a map), so a property never read is one the schema lacks:
//     a misplaced or misspelt field.
"use strict";

const fs = require("fs");

function moduleFor(apiVersion) {
  // "v1" -> kubernetes-models/v1, "apps/v1" -> kubernetes-models/apps/v1
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
  return group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
}

// A deep Proxy over `value` that records the keys read on every object in it.
function tracked(value, reads) {
  if (value === null || typeof value !== "object") return value;
  const keys = new Set();
  reads.set(value, keys);
  const children = new Map();
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === "string") keys.add(key);
      const v = Reflect.get(target, key, receiver);
      const own = Object.prototype.hasOwnProperty.call(target, key);
      if (v !== null && typeof v === "object" && own) {
        if (!children.has(key)) children.set(key, tracked(v, reads));
        return children.get(key);
      }
      return v;
    },
    has(target, key) {
      if (typeof key === "string") keys.add(key);
      return Reflect.has(target, key);
    },
  });
}

function unread(value, path, reads, out) {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => unread(v, `${path}/${i}`, reads, out));
    return;
  }
  const keys = reads.get(value);
  for (const key of Object.keys(value)) {
    if (!keys || !keys.has(key)) out.push(`${path}/${key}`);
    else unread(value[key], `${path}/${key}`, reads, out);
  }
}

function validate(obj) {
  if (!obj || typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
    return ["apiVersion and kind must be strings"];
  }
  let Model;
  try {
    Model = require(moduleFor(obj.apiVersion))[obj.kind];
  } catch (e) {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    return [`no schema for ${obj.apiVersion} ${obj.kind} (not a Kubernetes API kind, or ` +
            "not served by this Kubernetes release)"];
  }
  const model = new Model(obj);
  const reads = new WeakMap();
  try {
    Model.prototype.validate.call(tracked(model, reads));
  } catch (e) {
    return String(e.message).split("\n").filter((line) => line.trim() !== "");
  }
  const unknown = [];
  unread(model, "", reads, unknown);
  return unknown.map((p) => `unknown field ${p}`);
}

const objects = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const results = objects.map((obj) => ({
  kind: obj && obj.kind,
  name: obj && obj.metadata && obj.metadata.name,
  problems: validate(obj),
}));
process.stdout.write(JSON.stringify(results) + "\n");
