// pathUtil against the SDKs' conformance vectors
// (../shared/filescom-api/vectors/normalization_for_comparison_test_data.json;
// FILESGW_SHARED_DIR names the folder holding filescom-api/).
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { test } = require("node:test");
const harness = require("./harness");

const { pathUtil } = harness.loadPackage();
const VECTORS = path.join("filescom-api", "vectors", "normalization_for_comparison_test_data.json");

function vectorsFile() {
  const shared = process.env.FILESGW_SHARED_DIR || path.resolve(harness.PKG, "..", "..", "..", "shared");
  return path.join(shared, VECTORS);
}

const file = vectorsFile();
const missing = fs.existsSync(file) ? false
  : `${file} is not present: the conformance vectors cannot be checked (set FILESGW_SHARED_DIR)`;

test("every pair of the conformance vectors", { skip: missing }, () => {
  const pairs = JSON.parse(fs.readFileSync(file, "utf8"));
  assert.ok(pairs.length > 40, `${pairs.length} pairs`);
  for (const [given, expected] of pairs) {
    assert.equal(pathUtil.normalizeForComparison(given), expected, JSON.stringify(given));
    assert.ok(pathUtil.isSame(given, expected), JSON.stringify(given));
  }
});

test("normalize keeps case and inner spaces", () => {
  assert.equal(pathUtil.normalize("/My Folder//./Report #1?.txt/"), "My Folder/Report #1?.txt");
});

test("normalize: backslashes, dots and NUL", () => {
  assert.equal(pathUtil.normalize("a\\b\\..\\c"), "a/b/c");
  assert.equal(pathUtil.normalize("x\0y"), "xy");
  assert.equal(pathUtil.normalize(""), "");
  assert.equal(pathUtil.normalize("/../../remote\\path//./to/file.txt"), "remote/path/to/file.txt");
});

test("comparison folds what Files.com folds", () => {
  assert.ok(pathUtil.isSame("Straße/ÆON.txt", "strasse/aeon.TXT"));
  assert.ok(pathUtil.isSame("a/b ", "A/B"));
  assert.ok(!pathUtil.isSame(" a", "a")); // leading whitespace is kept
  assert.ok(!pathUtil.isSame("a/b", "a/c"));
});

test("capital I with dot folds to one letter", () => {
  assert.equal(pathUtil.normalizeForComparison("İ"), "i");
});
