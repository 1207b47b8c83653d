// Folder.listFor over 2,500 entries: the SDK's automatic paging (it follows
// the X-Files-Cursor header) and paging by hand, one page per request.
'use strict';

const assert = require('node:assert/strict');
const { describe, before } = require('node:test');

const Api = require('files.com/lib/Api.js').default;
const Folder = require('files.com/lib/models/Folder.js').default;
const File = require('files.com/lib/models/File.js').default;
const FilesErrors = require('files.com/lib/Errors.js');

const { rejectsWith, test, uniquePath } = require('./lib/sdk.js');

const kEntries = 2500;

// Runs fn over items with at most `width` calls in flight, as a user filling
// a folder would; one at a time would spend most of the suite's time budget.
async function inParallel(items, width, fn) {
  let next = 0;
  const workers = Array.from({ length: width }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  });
  await Promise.all(workers);
}

describe('Folder.listFor with 2,500 entries', () => {
  let root;
  let expected;
  before(async () => {
    root = uniquePath('listing');
    await Folder.create(root);
    const names = Array.from({ length: kEntries }, (_, i) => `entry ${String(i).padStart(4, '0')}`);
    await inParallel(names, 16, (name) => Folder.create(`${root}/${name}`));
    expected = names.map((n) => `${root}/${n}`).sort();
  });

  test('auto paging (the default) returns every entry once', async () => {
    const all = await Folder.listFor(root);
    const paths = all.map((f) => f.path).sort();
    assert.equal(paths.length, kEntries);
    assert.deepEqual(paths, expected);
    assert.ok(all.every((f) => f instanceof File && f.type === 'directory'));
  });

  test('auto paging with per_page 1000 follows the cursor over three pages', async () => {
    const all = await Folder.listFor(root, { per_page: 1000 });
    assert.deepEqual(all.map((f) => f.path).sort(), expected);
  });

  test('autoPaginate: false per request returns one page of per_page entries', async () => {
    const page = await Folder.listFor(root, { per_page: 300 }, { autoPaginate: false });
    assert.equal(page.length, 300);
  });

  test('sort_by path desc orders the listing', async () => {
    const all = await Folder.listFor(root, { per_page: 1000, sort_by: { path: 'desc' } });
    const paths = all.map((f) => f.path);
    assert.equal(paths.length, kEntries);
    assert.deepEqual(paths, [...expected].reverse());
  });

  // SDK limitation: Folder.listFor returns a plain array and drops the
  // X-Files-Cursor header, so a user pages by hand with the SDK's public Api
  // module (sendRequest returns the headers), exactly what listFor sends.
  test('manual paging: per_page + cursor from X-Files-Cursor until no cursor', async () => {
    const seen = [];
    let cursor;
    let requests = 0;
    do {
      const params = { per_page: 700, ...(cursor ? { cursor } : {}) };
      const response = await Api.sendRequest(`/folders/${encodeURIComponent(root)}`, 'GET', params,
                                             { autoPaginate: false });
      requests += 1;
      assert.ok(response.data.length <= 700);
      seen.push(...response.data.map((f) => f.path));
      const next = response.headers['x-files-cursor'];
      assert.notEqual(next, cursor, 'the cursor advances');
      cursor = next;
    } while (cursor && requests < 10);
    assert.equal(requests, 4);
    assert.deepEqual(seen.sort(), expected);
  });

  test('search narrows the listing (the README pagination example)', async () => {
    const found = await Folder.listFor(root, { search: 'entry 249' });
    const paths = found.map((f) => f.path).sort();
    assert.ok(paths.length >= 1, 'search found something');
    assert.ok(paths.every((p) => p.includes('entry 249')), `unexpected: ${paths.slice(0, 5)}`);
  });

  test('listing a missing folder is a NotFoundError', async () => {
    await rejectsWith(Folder.listFor(`${root}-missing`), FilesErrors.NotFoundError);
  });
});
