// The comparison's Node side, one operation per process, two ways:
//   --mode sdk      Files.com's official JS SDK (npm files.com, pinned in
//                   tests/conformance/package-lock.json), unmodified, straight
//                   to the emulator's REST API (through the delay proxy when
//                   compare.py puts one in between);
//   --mode gateway  the gateway's Node client (clients/node, its public API
//                   as it is on main) through files-gateway.
// The SDK is called as its README shows: User.find(id), User.list() (auto
// paging), File.uploadFile(remote, local), File.find(remote).download() then
// downloadToFile(local) (the SDK downloads over https only). The gateway client: client.users.find(id),
// for await over client.users.list(), uploadFile(local, remote),
// downloadFile(remote, local).
//
//   node node_client.js --mode sdk --base-url URL --api-key KEY --sdk DIR OP ...
//   node node_client.js --mode gateway --target HOST:PORT --package DIR OP ...
//   OP: find --ids-file F [--repeat N] | list | upload --local F --remote P
//       | download --remote P --local F
// --warmup-id ID: one untimed find first (both modes), reported apart.
// Prints one JSON line: op, seconds, cpu_seconds (the operation only),
// items/bytes, failed (calls that ended in an error), peak_rss_mib, and
// start-up (wall from SDK_COMPARE_T0, CPU before the operation).
// With --keep-going (find only) a failed call is counted, not fatal: the
// many-callers scenario counts failures against a rate-limited account.
'use strict';

const START = Number(process.env.SDK_COMPARE_T0 || Date.now() / 1000);
const fs = require('node:fs');
const path = require('node:path');

function parseArgs(argv) {
  const a = { mode: null, keepGoing: false, repeat: 1 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--mode') a.mode = v();
    else if (k === '--base-url') a.baseUrl = v();
    else if (k === '--api-key') a.apiKey = v();
    else if (k === '--sdk') a.sdk = path.resolve(v());
    else if (k === '--target') a.target = v();
    else if (k === '--package') a.pkg = path.resolve(v());
    else if (k === '--ids-file') a.idsFile = v();
    else if (k === '--repeat') a.repeat = Number(v());
    else if (k === '--local') a.local = v();
    else if (k === '--remote') a.remote = v();
    else if (k === '--keep-going') a.keepGoing = true;
    else if (k === '--warmup-id') a.warmupId = Number(v());
    else if (!a.op) a.op = k;
    else throw new Error(`unexpected argument ${k}`);
  }
  if (!['sdk', 'gateway'].includes(a.mode) || !a.op) {
    throw new Error('usage: node_client.js --mode sdk|gateway ... find|list|upload|download');
  }
  return a;
}

function peakRssMiB() {
  const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

// Both clients behind one small interface, so the timed loops are the same.
function sdkClient(a) {
  const req = (p) => require(path.join(a.sdk, 'files.com', 'lib', p)).default;
  const Files = req('Files.js');
  const { LogLevel } = require(path.join(a.sdk, 'files.com', 'lib', 'Logger.js')).default;
  Files.setBaseUrl(a.baseUrl);
  Files.setApiKey(a.apiKey);
  Files.setLogLevel(LogLevel.NONE !== undefined ? LogLevel.NONE : LogLevel.ERROR);
  const User = req('models/User.js');
  const File = req('models/File.js');
  return {
    find: (id) => User.find(id),
    list: async () => User.list(),  // auto paging: every page, as the README shows
    upload: (local, remote) => File.uploadFile(remote, local),
    download: async (remote, local) => {
      // README: File.find, then download() for the download_uri (https only).
      const file = await (await File.find(remote)).download();
      await file.downloadToFile(local);
      return file;
    },
    close: () => {},
  };
}

function gatewayClient(a) {
  const { connect } = require(a.pkg);
  const client = connect(a.target);
  return {
    find: (id) => client.users.find(id),
    list: async () => {
      const out = [];
      for await (const u of client.users.list()) out.push(u);
      return out;
    },
    upload: (local, remote) => client.uploadFile(local, remote),
    download: (remote, local) => client.downloadFile(remote, local),
    close: () => client.close(),
  };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const c = a.mode === 'sdk' ? sdkClient(a) : gatewayClient(a);
  const startup = {
    startup_seconds: Date.now() / 1000 - START,
    startup_cpu_seconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  };
  // One untimed find first, on both sides: the timed operation is the steady
  // state of a long-running caller (modules loaded, connection open).
  if (a.warmupId) {
    const w0 = process.hrtime.bigint();
    await c.find(a.warmupId);
    startup.first_call_seconds = Number(process.hrtime.bigint() - w0) / 1e9;
  }
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = { failed: 0 };
  if (a.op === 'find') {
    const ids = JSON.parse(fs.readFileSync(a.idsFile, 'utf8'));
    let n = 0;
    const errors = {};
    for (let r = 0; r < a.repeat; r++) {
      for (const id of ids) {
        try {
          const u = await c.find(id);
          if (Number(u.id) !== id || !u.username) throw new Error(`find ${id} answered ${JSON.stringify(u)}`);
          n += 1;
        } catch (err) {
          if (!a.keepGoing) throw err;
          result.failed += 1;
          const name = (err && err.constructor && err.constructor.name) || 'Error';
          errors[name] = (errors[name] || 0) + 1;
        }
      }
    }
    result.items = n;
    result.errors = errors;
  } else if (a.op === 'list') {
    const users = await c.list();
    const ids = new Set(users.map((u) => Number(u.id)));
    if (ids.size !== users.length) throw new Error(`list repeated ${users.length - ids.size} users`);
    result.items = users.length;
  } else if (a.op === 'upload') {
    const f = await c.upload(a.local, a.remote);
    const size = fs.statSync(a.local).size;
    if (f && f.size !== undefined && Number(f.size) !== size) throw new Error(`upload answered size ${f.size}`);
    result.bytes = size;
  } else if (a.op === 'download') {
    await c.download(a.remote, a.local);
    result.bytes = fs.statSync(a.local).size;
  } else {
    throw new Error(`unknown operation ${a.op}`);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  c.close();
  process.stdout.write(`${JSON.stringify({
    ...result, op: a.op, seconds, cpu_seconds: (cpu.user + cpu.system) / 1e6,
    peak_rss_mib: peakRssMiB(), ...startup,
  })}\n`);
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
