// Twelve more resources, each created, listed and found through its SDK model
// with the parameters its docs/models/<Model>.md example uses: the create
// answers an instance with an id, the list holds that id, find returns it.
'use strict';

const assert = require('node:assert/strict');
const { describe, before } = require('node:test');

const Folder = require('files.com/lib/models/Folder.js').default;
const User = require('files.com/lib/models/User.js').default;
const FilesErrors = require('files.com/lib/Errors.js');

const { rejectsWith, test, uniquePath } = require('./lib/sdk.js');

const model = (name) => require(`files.com/lib/models/${name}.js`).default;

describe('other resources: create, list, find', () => {
  const ctx = {};
  before(async () => {
    ctx.folder = uniquePath('resources');
    await Folder.create(ctx.folder);
    const username = uniquePath('owner').replace(/-/g, '');
    ctx.user = await User.create({ username, email: `${username}@example.com` });
    const Project = model('Project');
    ctx.project = await Project.create({ global_access: 'full' });
  });

  // [model, create params (a function of the shared fixtures), list params,
  //  a field the created object must echo]
  const cases = [
    ['ApiKey', () => ({ name: 'conformance key', description: 'made by the SDK suite', permission_set: 'full' }), () => ({}), 'name'],
    ['Bundle', () => ({ paths: [ctx.folder], description: 'conformance share', code: uniquePath('code').replace(/-/g, '') }), () => ({}), 'description'],
    ['Behavior', () => ({ path: ctx.folder, behavior: 'webhook', value: JSON.stringify({ urls: ['https://example.com/hook'] }), name: 'hook' }), () => ({}), 'behavior'],
    ['Notification', () => ({ path: ctx.folder, user_id: ctx.user.id, notify_on_copy: true, send_interval: 'daily' }), () => ({}), 'path'],
    ['Message', () => ({ project_id: ctx.project.id, subject: 'Hello', body: 'From the SDK suite' }), () => ({ project_id: ctx.project.id }), 'subject'],
    ['Clickwrap', () => ({ name: 'Terms', body: 'Be nice.', use_with_bundles: 'none' }), () => ({}), 'name'],
    ['FormFieldSet', () => ({ title: 'Intake form', skip_email: true }), () => ({}), 'title'],
    ['SftpHostKey', () => ({ name: 'conformance host key' }), () => ({}), 'name'],
    ['ShareGroup', () => ({ name: 'Partners', members: [{ name: 'Pat', company: 'Acme', email: 'pat@example.com' }] }), () => ({}), 'name'],
    ['Automation', () => ({ automation: 'create_folder', name: 'nightly folder', destinations: [`${ctx.folder}/nightly`], trigger: 'daily', interval: 'day' }), () => ({}), 'automation'],
    ['PublicKey', () => ({ user_id: ctx.user.id, title: 'laptop', generate_keypair: true, generate_private_key_password: '', generate_algorithm: 'ed25519' }), () => ({ user_id: ctx.user.id }), 'title'],
    ['UserRequest', () => ({ name: 'New Person', email: 'new.person@example.com', details: 'Please add me' }), () => ({}), 'email'],
  ];

  for (const [name, createParams, listParams, echoed] of cases) {
    test(`${name}.create, ${name}.list, ${name}.find`, async () => {
      const Model = model(name);
      const params = createParams();
      const created = await Model.create({ ...params });
      assert.ok(created instanceof Model, `${name}.create answers a ${name}`);
      assert.ok(created.id, `${name} has an id`);
      if (typeof params[echoed] !== 'object') assert.equal(created[echoed], params[echoed]);

      const listed = await Model.list(listParams());
      assert.ok(listed.every((item) => item instanceof Model));
      assert.ok(listed.some((item) => item.id === created.id), `${name}.list holds the new id`);

      const found = await Model.find(created.id);
      assert.equal(found.id, created.id);
      if (typeof params[echoed] !== 'object') assert.equal(found[echoed], params[echoed]);
    });
  }

  test('Lock.create on a file path, then Lock.listFor shows it', async () => {
    const Lock = model('Lock');
    const File = model('File');
    const path = `${ctx.folder}/locked.txt`;
    await File.uploadData(path, 'locked');
    const lock = await Lock.create(path, { timeout: 60 });
    assert.ok(lock instanceof Lock);
    const locks = await Lock.listFor(path);
    assert.ok(locks.some((l) => l.token === lock.token));
  });

  test('Permission.create, Permission.list filtered by path', async () => {
    const Permission = model('Permission');
    const created = await Permission.create({ path: ctx.folder, user_id: ctx.user.id, permission: 'read' });
    assert.ok(created.id);
    const listed = await Permission.list({ path: ctx.folder });
    assert.ok(listed.some((p) => p.id === created.id));
  });

  test('find after delete is NotFoundError', async () => {
    const Clickwrap = model('Clickwrap');
    const made = await Clickwrap.create({ name: 'temporary', body: 'x' });
    await made.delete();
    await rejectsWith(Clickwrap.find(made.id), FilesErrors.NotFoundError);
  });
});
