// The error tree generated from error_catalog.proto and the mapping from the
// gateway's rich statuses to it (no server).
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { test } = require("node:test");
const grpc = require("@grpc/grpc-js");
const fake = require("./fake");
const harness = require("./harness");

const fg = harness.loadPackage();
const { errors } = fg;

function catalogue(enumName, prefix) {
  // Straight from the descriptor bundle (the values' (files.v1.error) options).
  const bundle = JSON.parse(fs.readFileSync(path.join(fake.dist, "gen", "descriptors.json"), "utf8"));
  const en = JSON.parse(bundle.decls[`files.v1.${enumName}`]);
  return Object.keys(en.values).filter((k) => k !== `${prefix}UNSPECIFIED`).map((k) => {
    const o = en.valuesOptions[k];
    return { value: k, type: o["(files.v1.error).type"], className: o["(files.v1.error).class_name"],
      group: o["(files.v1.error).group"], title: o["(files.v1.error).title"], httpStatus: o["(files.v1.error).http_status"] };
  });
}

test("the SDK's own example: FolderAdminPermissionRequiredError -> NotAuthorizedError -> APIError -> FilesError -> Error", () => {
  const e = new errors.FolderAdminPermissionRequiredError("You need folder admin permission.");
  assert.ok(e instanceof errors.FolderAdminPermissionRequiredError);
  assert.ok(e instanceof errors.NotAuthorizedError);
  assert.ok(e instanceof errors.APIError);
  assert.ok(e instanceof errors.FilesError);
  assert.ok(e instanceof Error);
  assert.equal(e.name, "FolderAdminPermissionRequiredError");
  assert.equal(e.message, "You need folder admin permission.");
  assert.match(String(e.stack), /^FolderAdminPermissionRequiredError: You need/);
  const chain = [];
  for (let c = errors.FolderAdminPermissionRequiredError; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) chain.push(c.name);
  assert.deepEqual(chain, ["FolderAdminPermissionRequiredError", "NotAuthorizedError", "APIError", "FilesError", "Error"]);
  assert.equal(errors.FolderAdminPermissionRequiredError.filesType, "not-authorized/folder-admin-permission-required");
  assert.equal(errors.errorClass("Error"), errors.FilesError);
});

test("every group and type of the catalogue is a class under its group", () => {
  const groups = catalogue("ErrorGroup", "ERROR_GROUP_");
  const types = catalogue("ErrorType", "ERROR_TYPE_");
  assert.equal(groups.length, 8);
  assert.ok(types.length >= 200, `${types.length} types`);
  for (const g of groups) {
    const cls = errors[g.className];
    assert.equal(typeof cls, "function", g.className);
    assert.equal(Object.getPrototypeOf(cls), errors.APIError, g.className);
    assert.equal(cls.filesType, g.type);
    assert.equal(errors.classForType(g.type), cls);
  }
  for (const t of types) {
    const cls = errors[t.className];
    assert.equal(typeof cls, "function", t.className);
    assert.equal(cls.name, t.className);
    assert.equal(Object.getPrototypeOf(cls), errors[t.group], `${t.className} under ${t.group}`);
    assert.equal(cls.filesType, t.type);
    assert.equal(cls.catalogReason, t.value.slice("ERROR_TYPE_".length));
    assert.equal(cls.catalogHttpStatus, t.httpStatus);
    assert.equal(errors.classForType(t.type), cls);
    assert.equal(errors.errorClass(t.className), cls);
  }
  assert.equal(errors.catalogClasses().size, groups.length + types.length);
});

test("unknown types fall back to their group, then to APIError", () => {
  assert.equal(errors.classForType("not-found/brand-new-type"), errors.NotFoundError);
  assert.equal(errors.classForType("brand-new-group/x", "RateLimitedError"), errors.RateLimitedError);
  assert.equal(errors.classForType("brand-new-group/x"), errors.APIError);
});

test("a Files.com error arrives as its leaf class with every detail", () => {
  const e = errors.fromServiceError(fake.richStatus({
    code: grpc.status.PERMISSION_DENIED, message: "You need folder admin permission.",
    type: "not-authorized/folder-admin-permission-required", group: "NotAuthorizedError", httpStatus: 403,
    reason: "FOLDER_ADMIN_PERMISSION_REQUIRED", title: "Folder Admin Permission Required",
    body: { http_code: 403, instance: "abc", errors: ["one", { field: "two" }], data: { path: "a/b", n: 2 } },
  }));
  assert.equal(e.constructor, errors.FolderAdminPermissionRequiredError);
  assert.equal(e.type, "not-authorized/folder-admin-permission-required");
  assert.equal(e.errorType, e.type);
  assert.equal(e.code, grpc.status.PERMISSION_DENIED);
  assert.equal(e.grpcCode, "PERMISSION_DENIED");
  assert.equal(e.httpStatus, 403);
  assert.equal(e.httpCode, 403);
  assert.equal(e.title, "Folder Admin Permission Required");
  assert.equal(e.reason, "FOLDER_ADMIN_PERMISSION_REQUIRED");
  assert.equal(e.domain, "files.com");
  assert.equal(e.metadata.group, "NotAuthorizedError");
  assert.equal(e.instance, "abc");
  assert.deepEqual(e.errors, ["one", { field: "two" }]);
  assert.deepEqual(e.data, { path: "a/b", n: 2 });
  assert.equal(e.message, "You need folder admin permission.");
  assert.equal(e.retryDelay, undefined);
});

test("RetryInfo becomes retryDelay in seconds", () => {
  const e = errors.fromServiceError(fake.richStatus({
    code: grpc.status.RESOURCE_EXHAUSTED, message: "slow down", type: "rate-limited/too-many-requests",
    retrySeconds: 2.5,
  }));
  assert.ok(e instanceof errors.RateLimitedError);
  assert.equal(e.retryDelay, 2.5);
});

test("statuses without a Files.com type map by gRPC code", () => {
  const bare = (code) => errors.fromServiceError({ code, details: "x", metadata: new grpc.Metadata() });
  assert.equal(bare(grpc.status.UNAVAILABLE).constructor, errors.APIConnectionError);
  assert.equal(bare(grpc.status.DEADLINE_EXCEEDED).constructor, errors.DeadlineExceededError);
  assert.ok(bare(grpc.status.DEADLINE_EXCEEDED) instanceof errors.APIConnectionError);
  assert.equal(bare(grpc.status.CANCELLED).constructor, errors.CancelledError);
  assert.equal(bare(grpc.status.DATA_LOSS).constructor, errors.DataLossError);
  assert.equal(bare(grpc.status.INVALID_ARGUMENT).constructor, errors.BadRequestError);
  assert.equal(bare(grpc.status.NOT_FOUND).constructor, errors.NotFoundError);
  assert.equal(bare(grpc.status.UNAUTHENTICATED).constructor, errors.NotAuthenticatedError);
  assert.equal(bare(grpc.status.ALREADY_EXISTS).constructor, errors.DestinationExistsError);
  assert.equal(bare(grpc.status.INTERNAL).constructor, errors.GatewayError);
  assert.equal(bare(grpc.status.UNIMPLEMENTED).constructor, errors.GatewayError);
  // gRPC's own RESOURCE_EXHAUSTED (an oversized message) is no rate limit...
  assert.equal(bare(grpc.status.RESOURCE_EXHAUSTED).constructor, errors.GatewayError);
  // ...the gateway's is (it carries an ErrorInfo).
  const gw = errors.fromServiceError(fake.richStatus({ code: grpc.status.RESOURCE_EXHAUSTED, reason: "RATE_LIMITED", domain: "files-gateway" }));
  assert.equal(gw.constructor, errors.RateLimitedError);
  assert.equal(gw.domain, "files-gateway");
});

test("unreadable status details leave the bare status", () => {
  const metadata = new grpc.Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from([0xff, 0xff, 0xff]));
  const e = errors.fromServiceError({ code: grpc.status.NOT_FOUND, details: "gone", metadata });
  assert.equal(e.constructor, errors.NotFoundError);
  assert.equal(e.message, "gone");
});

test("errors this package raises itself", () => {
  assert.ok(new errors.InvalidParameterError("x") instanceof errors.InvalidRequestError);
  assert.ok(new errors.DataLossError("x") instanceof errors.GatewayError);
  assert.ok(new errors.GatewayError("x") instanceof errors.APIError);
  assert.equal(new errors.FilesError().message, "");
  assert.deepEqual(new errors.FilesError().metadata, {});
  assert.equal(errors.toFilesError(new Error("boom")).constructor, errors.GatewayError);
  const typed = new errors.UserNotFoundError("u");
  assert.equal(errors.toFilesError(typed), typed);
});
