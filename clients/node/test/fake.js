// In-process stand-ins for the gateway: a grpc-js server serving any files.v1
// service from the package's own descriptors with handlers the test supplies,
// and the gateway's rich error statuses (google.rpc.Status with ErrorInfo,
// RetryInfo and files.v1.FilesError in grpc-status-details-bin).
"use strict";

const grpc = require("@grpc/grpc-js");
const path = require("path");
const harness = require("./harness");

const dist = process.env.FILESGW_NODE_PACKAGE || path.join(harness.PKG, "dist");
const descriptors = require(path.join(dist, "descriptors"));
const convert = require(path.join(dist, "convert"));

function codec(type) {
  return {
    serialize: (obj) => Buffer.from(type.encode(obj).finish()),
    deserialize: (buf) => type.decode(buf),
  };
}

/** A grpc-js service definition for a files.v1 service, from the descriptors. */
function serviceDefinition(fullName) {
  const service = descriptors.lookupService(fullName);
  const def = {};
  for (const m of service.methodsArray) {
    m.resolve();
    const req = codec(m.resolvedRequestType);
    const res = codec(m.resolvedResponseType);
    def[m.name] = {
      path: `/${fullName}/${m.name}`,
      requestStream: Boolean(m.requestStream),
      responseStream: Boolean(m.responseStream),
      requestSerialize: req.serialize,
      requestDeserialize: req.deserialize,
      responseSerialize: res.serialize,
      responseDeserialize: res.deserialize,
    };
  }
  return def;
}

/** Starts a server with {serviceFullName: {Method: handler}}; resolves to {server, target, stop}. */
async function startServer(services) {
  const server = new grpc.Server();
  for (const [name, handlers] of Object.entries(services)) {
    const def = serviceDefinition(name);
    const impl = {};
    for (const method of Object.keys(def)) {
      impl[method] = handlers[method] || ((call, callback) => {
        const err = { code: grpc.status.UNIMPLEMENTED, details: `${method} not faked` };
        if (typeof callback === "function") callback(err);
        else call.emit("error", err);
      });
    }
    server.addService(def, impl);
  }
  const port = await new Promise((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    server,
    target: `127.0.0.1:${port}`,
    // Calls a test left open (a cancelled upload the fake never answered) do not hold it up.
    stop: () => new Promise((resolve) => {
      const force = setTimeout(() => server.forceShutdown(), 1000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    }),
  };
}

function any(typeName, value) {
  const type = descriptors.lookupType(typeName);
  return { type_url: `type.googleapis.com/${typeName}`, value: Buffer.from(type.encode(value).finish()) };
}

/**
 * A ServiceError as the gateway sends it. o: code, message, type, group,
 * httpStatus, reason, domain, retrySeconds, title, body (extra FilesError fields).
 */
function richStatus(o) {
  const details = [];
  if (o.type !== undefined || o.reason !== undefined || o.domain !== undefined) {
    const metadata = {};
    if (o.type) metadata.type = o.type;
    if (o.group) metadata.group = o.group;
    if (o.httpStatus) metadata.http_status = String(o.httpStatus);
    details.push(any("google.rpc.ErrorInfo", {
      reason: o.reason || "", domain: o.domain || "files.com", metadata,
    }));
  }
  if (o.retrySeconds !== undefined) {
    const seconds = Math.floor(o.retrySeconds);
    details.push(any("google.rpc.RetryInfo", {
      retry_delay: { seconds, nanos: Math.round((o.retrySeconds - seconds) * 1e9) },
    }));
  }
  if (o.title !== undefined || o.body) {
    const filesError = descriptors.lookupType("files.v1.FilesError");
    details.push(any("files.v1.FilesError", convert.fill(filesError, {
      type: o.type || "", title: o.title || "", message: o.message || "", http_status: o.httpStatus || 0,
      ...(o.body || {}),
    })));
  }
  const statusType = descriptors.lookupType("google.rpc.Status");
  const metadata = new grpc.Metadata();
  metadata.set("grpc-status-details-bin",
    Buffer.from(statusType.encode({ code: o.code, message: o.message || "", details }).finish()));
  return { code: o.code, details: o.message || "", metadata };
}

module.exports = { serviceDefinition, startServer, richStatus, descriptors, dist };
