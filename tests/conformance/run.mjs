// Runs one conformance test file (node --test) against a fresh files-emulator.
//
//   node run.mjs --emulator build/emulator/files-emulator \
//       --node-modules build/tests/conformance/node_modules files_test.js
//
// The emulator is started here, not inside the test, because the SDK reaches
// the emulator's self-signed HTTPS only through NODE_EXTRA_CA_CERTS, which
// Node reads once at start-up: the CA file must exist before the test process
// starts. The SDK is loaded with require() through NODE_PATH, the CommonJS way
// its README shows, so the test files stay in the source tree while npm ci
// installs the pinned package into the build tree.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const out = { emulator: null, nodeModules: join(here, 'node_modules'), tls: 'auto', files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--emulator') out.emulator = resolve(argv[++i]);
    else if (a === '--node-modules') out.nodeModules = resolve(argv[++i]);
    else if (a === '--tls') out.tls = argv[++i];  // auto | on | off
    else out.files.push(resolve(here, a));
  }
  if (!out.emulator || out.files.length === 0) {
    console.error('usage: node run.mjs --emulator PATH [--node-modules DIR] [--tls auto|on|off] TEST.js...');
    process.exit(2);
  }
  return out;
}

// The emulator gains HTTPS on the emulator-fidelity branch: with
// --tls-self-signed CA_FILE it makes its own certificate, with --tls-cert and
// --tls-key it takes one (made here with openssl). Without either the suite
// runs over plain HTTP and the flows that need https:// are skipped (that is
// the baseline the README's Compatibility section records).
function emulatorTlsMode(binary) {
  const help = spawnSync(binary, ['--help'], { encoding: 'utf8' });
  const text = `${help.stdout}${help.stderr}`;
  if (text.includes('--tls-self-signed')) return 'self-signed';
  if (text.includes('--tls-cert')) return 'cert';
  return null;
}

// A throwaway certificate for 127.0.0.1 that is its own CA, for emulators
// that take --tls-cert/--tls-key only.
function makeCertificate(dir) {
  const cert = join(dir, 'emulator-cert.pem');
  const key = join(dir, 'emulator-key.pem');
  const made = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-keyout', key, '-out', cert,
  ], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`);
  return { cert, key };
}

// Resolves with the emulator's start-up line ({"listening", "base_url", ...});
// it is printed once the socket listens, so no polling or sleeping is needed.
function startEmulator(binary, args) {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error('files-emulator did not start in 20 s')), 20000);
    child.once('exit', (code) => reject(new Error(`files-emulator exited with ${code}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolvePromise({ child, info: JSON.parse(line) });
      } catch (err) {
        reject(new Error(`unexpected start-up line from files-emulator: ${line}`));
      }
    });
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const tlsMode = opts.tls === 'off' ? null : emulatorTlsMode(opts.emulator);
  if (opts.tls === 'on' && !tlsMode) {
    console.error('conformance: --tls on, but this files-emulator has no TLS flags');
    process.exit(1);
  }
  const tls = tlsMode !== null;
  const scratch = mkdtempSync(join(tmpdir(), 'filesgw-conformance-'));
  // Files.com keys are hex strings; a key without punctuation is accepted by
  // every SDK, including those that check the key's shape before sending.
  const apiKey = randomBytes(24).toString('hex');
  const args = ['--listen', '127.0.0.1:0', '--api-key', apiKey];
  let caFile = join(scratch, 'emulator-ca.pem');
  if (tlsMode === 'self-signed') {
    args.push('--tls-self-signed', caFile);
  } else if (tlsMode === 'cert') {
    const { cert, key } = makeCertificate(scratch);
    args.push('--tls-cert', cert, '--tls-key', key);
    caFile = cert;
  }

  let emulator;
  try {
    emulator = await startEmulator(opts.emulator, args);
  } catch (err) {
    console.error(`conformance: ${err.message}`);
    rmSync(scratch, { recursive: true, force: true });
    process.exit(1);
  }
  const baseUrl = emulator.info.base_url.replace(/\/api\/rest\/v1\/?$/, '').replace(/\/$/, '');
  console.log(`conformance: files-emulator at ${baseUrl} (${tls ? 'HTTPS' : 'HTTP, no TLS support yet'})`);

  const env = {
    ...process.env,
    NODE_PATH: opts.nodeModules,
    FILESGW_CONFORMANCE_BASE_URL: baseUrl,
    FILESGW_CONFORMANCE_API_KEY: apiKey,
    FILESGW_CONFORMANCE_TLS: tls ? '1' : '0',
    FILESGW_CONFORMANCE_SCRATCH: scratch,
  };
  if (tls) env.NODE_EXTRA_CA_CERTS = caFile;

  const test = spawn(process.execPath, ['--test', '--test-reporter=spec', ...opts.files],
                     { stdio: 'inherit', env });
  // CTest's timeout signals this process only: take the children along.
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      test.kill('SIGTERM');
      emulator.child.kill('SIGTERM');
      rmSync(scratch, { recursive: true, force: true });
      process.exit(1);
    });
  }
  const code = await new Promise((r) => test.once('exit', (c, signal) => r(signal ? 1 : c)));
  emulator.child.removeAllListeners('exit');
  emulator.child.kill('SIGTERM');
  rmSync(scratch, { recursive: true, force: true });
  process.exit(code);
}

main();
