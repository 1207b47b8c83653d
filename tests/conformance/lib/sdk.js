// Configures Files.com's official SDK the way its README does (setBaseUrl,
// setApiKey) for the emulator run.mjs started, and holds the few helpers the
// test files share. Nothing here changes how the SDK behaves.
'use strict';

const assert = require('node:assert/strict');
const nodeTest = require('node:test');
const path = require('node:path');

const knownGaps = require('../known_gaps.js');

const Files = require('files.com/lib/Files.js').default;
const { LogLevel } = require('files.com/lib/Logger.js').default;

const baseUrl = process.env.FILESGW_CONFORMANCE_BASE_URL;
const apiKey = process.env.FILESGW_CONFORMANCE_API_KEY;
if (!baseUrl || !apiKey) {
  throw new Error('run the conformance tests through run.mjs (it starts files-emulator)');
}
const tls = process.env.FILESGW_CONFORMANCE_TLS === '1';
const scratch = process.env.FILESGW_CONFORMANCE_SCRATCH;
const strict = process.env.FILESGW_CONFORMANCE_STRICT === '1';

Files.setBaseUrl(baseUrl);
Files.setApiKey(apiKey);
// The SDK logs every retry at INFO; a failure is reported by the test anyway.
Files.setLogLevel(LogLevel.ERROR);
// The SDK retries only when no HTTP answer came (a reset, a TLS failure);
// on loopback that is a fault to see at once, not after seconds of backoff.
Files.configureNetwork({ maxNetworkRetries: 0, networkTimeout: 60 });

// A path no other test uses, so test files can run in parallel on one
// emulator and a test never depends on another one's leftovers.
let counter = 0;
function uniquePath(prefix) {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

// Asserts that promise rejects with an instance of errorClass (an SDK class
// from files.com/lib/Errors) and returns the error for further checks.
async function rejectsWith(promise, errorClass) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof errorClass,
              `expected ${errorClass.name}, got ${err && err.constructor && err.constructor.name}: ` +
                  `${err && err.message}`);
    return err;
  }
  assert.fail(`expected ${errorClass.name}, but the call succeeded`);
  return null;
}

// node:test's test(), marked TODO when known_gaps.js names it (unless strict),
// so a known emulator gap is reported without failing the run.
function test(name, options, fn) {
  if (typeof options === 'function') [options, fn] = [{}, options];
  const gap = strict ? undefined : knownGaps.find(([pattern]) => pattern.test(name));
  return nodeTest.test(name, gap ? { ...options, todo: gap[1] } : options, fn);
}

module.exports = {
  Files,
  apiKey,
  baseUrl,
  rejectsWith,
  scratchFile: (name) => path.join(scratch, name),
  test,
  tls,
  uniquePath,
};
