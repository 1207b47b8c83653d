// Files and folders through the SDK's own transfer code: File.uploadFile,
// uploadData and uploadStream at the sizes where part handling changes, the
// three download helpers, copy, move and recursive delete, with the call
// shapes of the SDK's README and docs/models/File.md.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { Readable, Writable } = require('node:stream');
const { describe, before } = require('node:test');

const File = require('files.com/lib/models/File.js').default;
const Folder = require('files.com/lib/models/Folder.js').default;
const FilesErrors = require('files.com/lib/Errors.js');

const { rejectsWith, scratchFile, test, tls, uniquePath } = require('./lib/sdk.js');

const MiB = 1024 * 1024;
// Files.com's (and the emulator's default) part size: "one part + 1 byte"
// is the smallest upload that takes two parts.
const kPartSize = 5 * MiB;
const kSizes = [
  ['0 B', 0],
  ['1 B', 1],
  ['one part + 1 byte', kPartSize + 1],
  ['30 MiB', 30 * MiB],
];

// Deterministic content, so a wrong offset or a dropped part shows as a
// different digest rather than passing by luck.
function content(size, seed) {
  const out = Buffer.allocUnsafe(size);
  let block = crypto.createHash('sha256').update(seed).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off, 0, Math.min(block.length, size - off));
    block = crypto.createHash('sha256').update(block).digest();
  }
  return out;
}

const md5 = (buf) => crypto.createHash('md5').update(buf).digest('hex');

// The SDK's download helpers call https.get on download_uri; over plain HTTP
// they throw before sending anything. Downloads are skipped, not failed, only
// when the emulator build under test has no TLS at all (the baseline run).
const downloadSkip = tls ? false : 'files-emulator without TLS: the SDK downloads with https.get only';

async function downloadable(path) {
  const file = await File.find(path);
  return file.download();
}

// SDK bug (files.com 1.2.314 saveUrlToStream): on 'finish' it calls
// stream.close(), which only fs.WriteStream has; any other Writable throws
// after the data arrived. A user's workaround, used here: give it a close().
async function downloadToBuffer(path) {
  const file = await downloadable(path);
  const chunks = [];
  const sink = new Writable({
    write(chunk, _enc, done) { chunks.push(chunk); done(); },
  });
  sink.close = () => {};
  await file.downloadToStream(sink);
  return Buffer.concat(chunks);
}

describe('uploads', () => {
  let folder;
  before(async () => {
    folder = uniquePath('uploads');
    await Folder.create(folder, { mkdir_parents: true });
  });

  const methods = {
    uploadFile: async (dest, data) => {
      const local = scratchFile(`${crypto.randomUUID()}.bin`);
      fs.writeFileSync(local, data);
      try {
        return await File.uploadFile(dest, local);
      } finally {
        fs.rmSync(local, { force: true });
      }
    },
    uploadData: (dest, data) => File.uploadData(dest, data),
    // A stream of 64 KiB chunks, as fs and network streams deliver them, so
    // parts are cut across chunk boundaries.
    uploadStream: (dest, data) => {
      const chunks = [];
      for (let off = 0; off < data.length; off += 64 * 1024) chunks.push(data.subarray(off, off + 64 * 1024));
      return File.uploadStream(dest, Readable.from(chunks));
    },
  };

  // SDK bug (files.com 1.2.314 File.uploadStream): when one data chunk ends
  // exactly on a part boundary, the last part is left in `chunks` and sent
  // again as an extra part at stream end. uploadData hands a Buffer over as a
  // single chunk, so a 30 MiB Buffer (six whole parts) is stored as 35 MiB,
  // against Files.com as here. 30 MiB + 1 byte below covers the size instead.
  const sdkBugs = {
    'uploadData 30 MiB': 'SDK bug (files.com 1.2.314 File.uploadStream): a chunk ending exactly on a part ' +
        'boundary sends its last part twice; a 30 MiB Buffer is stored as 35 MiB',
  };
  const sizes = (method) => (method === 'uploadData' ? [...kSizes, ['30 MiB + 1 byte', 30 * MiB + 1]] : kSizes);

  for (const [method, upload] of Object.entries(methods)) {
    for (const [label, size] of sizes(method)) {
      const skip = sdkBugs[`${method} ${label}`] || false;
      test(`${method} ${label}: the file has the bytes sent`, { skip }, async (t) => {
        const data = content(size, `${method}-${size}`);
        const dest = `${folder}/${method}-${size}.bin`;
        const uploaded = await upload(dest, data);
        assert.ok(uploaded instanceof File, 'upload answers a File');
        assert.equal(uploaded.path, dest);
        assert.equal(uploaded.display_name, `${method}-${size}.bin`);
        assert.equal(Number(uploaded.size), size);

        // As the SDK's own integration test checks: metadata has no URL yet.
        const found = await File.find(dest);
        assert.equal(found.type, 'file');
        assert.equal(found.getDownloadUri(), undefined);
        assert.equal(Number(found.size), size);
        if (found.md5) assert.equal(found.md5, md5(data));

        if (downloadSkip) {
          t.diagnostic(`download check skipped: ${downloadSkip}`);
          return;
        }
        const back = await downloadToBuffer(dest);
        assert.equal(back.length, size);
        assert.equal(md5(back), md5(data));
      });
    }
  }

  // SDK bug: uploadData() rejects empty data with `if (!data)`, so '' (falsy)
  // is refused before any request; an empty Buffer is truthy and works.
  test('uploadData of an empty string', {
    skip: 'SDK bug (files.com 1.2.314 File.uploadData): `if (!data)` refuses "" with MissingParameterError',
  }, async () => {
    await File.uploadData(`${folder}/empty-string.txt`, '');
  });

  test('uploadData of a string, unicode and space paths: found and listed under the same name', async () => {
    const names = ['with space.txt', 'ünïcödé ファイル.txt', 'emoji 🚀 name.txt'];
    for (const name of names) {
      const dest = `${folder}/sub dir é/${name}`;
      const uploaded = await File.uploadData(dest, `hello ${name}`, { mkdir_parents: true });
      assert.equal(uploaded.path, dest);
      const found = await File.find(dest);
      assert.equal(found.path, dest);
      assert.equal(Number(found.size), Buffer.byteLength(`hello ${name}`));
    }
    const listed = (await Folder.listFor(`${folder}/sub dir é`)).map((f) => f.path).sort();
    assert.deepEqual(listed, names.map((n) => `${folder}/sub dir é/${n}`).sort());
  });

  // The README's "Paths" section: case-insensitive, NFC-normalised.
  test('paths are case-insensitive (README: Documents/Reports/Q1.pdf)', async () => {
    await File.uploadData(`${folder}/Documents/Reports/Q1.pdf`, 'q1', { mkdir_parents: true });
    const found = await File.find(`${folder}/documents/reports/q1.PDF`);
    assert.equal(Number(found.size), 2);
  });

  test('paths are NFC-normalised (README: uploads/\\u0065\\u0301.txt is uploads/é.txt)', async () => {
    await File.uploadData(`${folder}/nfc/\u0065\u0301.txt`, 'e acute', { mkdir_parents: true });
    const found = await File.find(`${folder}/nfc/\u00e9.txt`);
    assert.equal(Number(found.size), 7);
  });

  test('an upload replaces an existing file', { skip: downloadSkip }, async () => {
    const dest = `${folder}/replace.txt`;
    await File.uploadData(dest, 'first version');
    await File.uploadData(dest, 'second');
    const file = await downloadable(dest);
    assert.equal(await file.downloadToString(), 'second');
  });
});

describe('downloads', { skip: downloadSkip }, () => {
  let dest;
  let data;
  before(async () => {
    dest = `${uniquePath('downloads')}/unicode ü file.txt`;
    data = content(3 * MiB + 17, 'downloads');
    await File.uploadData(dest, data, { mkdir_parents: true });
  });

  test('File.find then download gives a download_uri over https', async () => {
    const file = await downloadable(dest);
    assert.match(file.download_uri, /^https:\/\//);
  });

  test('downloadToFile writes the same bytes', async () => {
    const file = await downloadable(dest);
    const local = scratchFile('downloaded.bin');
    await file.downloadToFile(local);
    assert.equal(md5(fs.readFileSync(local)), md5(data));
  });

  test('downloadToString returns the text', async () => {
    const textPath = `${dest}.utf8.txt`;
    const text = 'Grüße aus dem Emulator ✓\n'.repeat(1000);
    await File.uploadData(textPath, text);
    const file = await downloadable(textPath);
    assert.equal(await file.downloadToString(), text);
  });

  test('downloadToStream streams the same bytes', async () => {
    assert.equal(md5(await downloadToBuffer(dest)), md5(data));
  });

  test('downloadToStream into an fs.WriteStream', async () => {
    const file = await downloadable(dest);
    const local = scratchFile('streamed.bin');
    await file.downloadToStream(fs.createWriteStream(local));
    assert.equal(md5(fs.readFileSync(local)), md5(data));
  });

  test('downloadToStream into a plain Writable', {
    skip: 'SDK bug (files.com 1.2.314 saveUrlToStream): calls stream.close(), which only fs.WriteStream has',
  }, async () => {
    const file = await downloadable(dest);
    await file.downloadToStream(new Writable({ write(_c, _e, done) { done(); } }));
  });

  test('a download_uri is refused without its signature', async () => {
    const file = await downloadable(dest);
    const url = new URL(file.download_uri);
    url.search = '';
    const status = await new Promise((resolve, reject) => {
      require('node:https').get(url, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
    });
    assert.ok(status >= 400, `unsigned download URL answered ${status}`);
  });
});

describe('copy, move, delete', () => {
  // Folder trees need no upload, so these flows are judged on their own even
  // where uploads fail; file content is uploaded inside the tests that need it.
  let root;
  before(async () => {
    root = uniquePath('ops');
    await Folder.create(`${root}/src/nested/deeper`, { mkdir_parents: true });
    await Folder.create(`${root}/src/other`, { mkdir_parents: true });
  });

  test('file.copy copies a file and leaves the source', async () => {
    await File.uploadData(`${root}/a.txt`, 'alpha');
    const file = await File.find(`${root}/a.txt`);
    await file.copy({ destination: `${root}/copy-of-a.txt` });
    assert.equal(Number((await File.find(`${root}/copy-of-a.txt`)).size), 5);
    assert.equal(Number((await File.find(`${root}/a.txt`)).size), 5);
  });

  test('copyTo copies a folder with its subfolders', async () => {
    const folder = await File.find(`${root}/src`);
    await folder.copyTo(`${root}/src-copy`);
    assert.equal((await File.find(`${root}/src-copy/nested/deeper`)).type, 'directory');
    assert.equal((await File.find(`${root}/src/nested/deeper`)).type, 'directory');
  });

  test('file.move moves a file: the source is gone', async () => {
    await File.uploadData(`${root}/to-move.txt`, 'moving');
    const file = await File.find(`${root}/to-move.txt`);
    await Folder.create(`${root}/moved`);
    await file.move({ destination: `${root}/moved/here.txt` });
    assert.equal(Number((await File.find(`${root}/moved/here.txt`)).size), 6);
    await rejectsWith(File.find(`${root}/to-move.txt`), FilesErrors.NotFoundError);
  });

  test('moveTo renames a folder', async () => {
    await Folder.create(`${root}/old-name/inner`, { mkdir_parents: true });
    const folder = await File.find(`${root}/old-name`);
    await folder.moveTo(`${root}/new-name`);
    assert.equal((await File.find(`${root}/new-name/inner`)).type, 'directory');
    await rejectsWith(File.find(`${root}/old-name`), FilesErrors.NotFoundError);
  });

  test('delete of a file', async () => {
    await File.uploadData(`${root}/doomed.txt`, 'x');
    const file = await File.find(`${root}/doomed.txt`);
    await file.delete();
    await rejectsWith(File.find(`${root}/doomed.txt`), FilesErrors.NotFoundError);
  });

  test('delete of a non-empty folder without recursive is refused', async () => {
    const folder = await File.find(`${root}/src`);
    await rejectsWith(folder.delete(), FilesErrors.ProcessingFailureError);
    assert.equal((await File.find(`${root}/src/nested`)).type, 'directory');
  });

  test('delete({recursive: true}) removes a folder tree (the SDK sends it as a JSON body)', async () => {
    await Folder.create(`${root}/tree/a/b/c`, { mkdir_parents: true });
    const folder = await File.find(`${root}/tree`);
    await folder.delete({ recursive: true });
    await rejectsWith(File.find(`${root}/tree`), FilesErrors.NotFoundError);
    await rejectsWith(File.find(`${root}/tree/a/b/c`), FilesErrors.NotFoundError);
  });
});
