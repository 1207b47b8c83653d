// Authentication and errors as the SDK's README shows them: sessions
// (create, use globally or per request, destroy), a per-request and a
// per-object API key, and typed errors caught by class from the Errors module.
'use strict';

const assert = require('node:assert/strict');
const { describe, before, afterEach } = require('node:test');

const File = require('files.com/lib/models/File.js').default;
const Folder = require('files.com/lib/models/Folder.js').default;
const Session = require('files.com/lib/models/Session.js').default;
const User = require('files.com/lib/models/User.js').default;
const FilesErrors = require('files.com/lib/Errors.js');

const { Files, apiKey, rejectsWith, test, uniquePath } = require('./lib/sdk.js');

const kPassword = 'Conformance-pa55word';

// Global SDK state (setApiKey, setSessionId) is put back after every test,
// so no test depends on another's order.
afterEach(() => {
  Files.setApiKey(apiKey);
  Files.setSessionId(null);
});

describe('sessions', () => {
  let admin;
  before(async () => {
    const username = uniquePath('admin').replace(/-/g, '');
    admin = await User.create({ username, email: `${username}@example.com`, password: kPassword, site_admin: true });
  });

  test('Session.create with username and password answers a session id', async () => {
    const session = await Session.create({ username: admin.username, password: kPassword });
    assert.ok(session instanceof Session);
    assert.equal(typeof session.id, 'string');
    assert.ok(session.id.length > 0);
  });

  test('a wrong password is NotAuthenticated_InvalidUsernameOrPasswordError', async () => {
    const err = await rejectsWith(Session.create({ username: admin.username, password: 'wrong' }),
                                  FilesErrors.NotAuthenticatedError);
    assert.ok(err instanceof FilesErrors.NotAuthenticated_InvalidUsernameOrPasswordError, err.constructor.name);
    assert.ok(err instanceof FilesErrors.FilesApiError);
    assert.ok(err instanceof FilesErrors.FilesError);
    assert.equal(err.type, 'not-authenticated/invalid-username-or-password');
    assert.equal(Number(err.code), 401);
  });

  test('Files.setSessionId then Session.destroy() (README): the session stops working', async () => {
    const session = await Session.create({ username: admin.username, password: kPassword });
    Files.setApiKey(undefined);
    Files.setSessionId(session.id);
    const me = await User.find(admin.id);
    assert.equal(me.username, admin.username);
    await Session.destroy();
    await rejectsWith(User.find(admin.id), FilesErrors.NotAuthenticatedError);
  });

  test('per-request sessionId option authenticates that request only', async () => {
    const session = await Session.create({ username: admin.username, password: kPassword });
    Files.setApiKey('not-a-valid-key');
    const found = await User.find(admin.id, {}, { sessionId: session.id });
    assert.equal(found.username, admin.username);
    await rejectsWith(User.find(admin.id), FilesErrors.NotAuthenticatedError);
    await Session.delete({ sessionId: session.id });
    await rejectsWith(User.find(admin.id, {}, { sessionId: session.id }), FilesErrors.NotAuthenticatedError);
  });

  test('per-request session_id option as the README writes it', {
    skip: 'SDK bug (files.com 1.2.314): README documents { session_id } per request, Api.sendRequest reads options.sessionId; session_id is ignored',
  }, async () => {
    const session = await Session.create({ username: admin.username, password: kPassword });
    Files.setApiKey('not-a-valid-key');
    await User.find(admin.id, {}, { session_id: session.id });
  });

  test('Session.destroy(params, { sessionId }) per request', {
    skip: 'SDK bug (files.com 1.2.314): Session.destroy(params, options) calls Session.delete(params, options) but delete takes (options), so the per-request session is dropped',
  }, async () => {
    const session = await Session.create({ username: admin.username, password: kPassword });
    await Session.destroy({}, { sessionId: session.id });
  });
});

describe('API keys', () => {
  test('per-request apiKey option overrides the global key', async () => {
    Files.setApiKey('not-a-valid-key');
    await rejectsWith(User.list(), FilesErrors.NotAuthenticatedError);
    const users = await User.list({}, { apiKey });
    assert.ok(users.length > 0);
  });

  test('a wrong per-request apiKey is NotAuthenticatedError (README catch block)', async () => {
    const err = await rejectsWith(User.list({}, { apiKey: 'wrongkey0123456789' }), FilesErrors.NotAuthenticatedError);
    assert.ok(err instanceof FilesErrors.FilesApiError);
    assert.equal(Number(err.code), 401);
    assert.match(err.type, /^not-authenticated/);
  });

  test('per-object apiKey (second constructor parameter) is used by its methods', async () => {
    const username = uniquePath('keyed').replace(/-/g, '');
    const created = await User.create({ username, email: `${username}@example.com` });
    const withBadKey = new User({ id: created.id, username }, { apiKey: 'wrongkey0123456789' });
    await rejectsWith(withBadKey.update({ name: 'nope' }), FilesErrors.NotAuthenticatedError);
    const withGoodKey = new User({ id: created.id, username }, { apiKey });
    Files.setApiKey('not-a-valid-key');
    const updated = await withGoodKey.update({ name: 'Keyed User' });
    assert.equal(updated.name, 'Keyed User');
  });

  test('no key at all is the SDK\'s ConfigurationError, nothing sent', async () => {
    Files.setApiKey(undefined);
    await rejectsWith(User.list(), FilesErrors.ConfigurationError);
  });
});

describe('typed errors', () => {
  test('File.find on a missing path is NotFoundError', async () => {
    const err = await rejectsWith(File.find(`${uniquePath('missing')}/nothing.txt`), FilesErrors.NotFoundError);
    assert.ok(err instanceof FilesErrors.FilesApiError);
    assert.equal(Number(err.code), 404);
    assert.match(err.type, /^not-found/);
  });

  test('User.find of an unknown id is NotFound_UserNotFoundError', async () => {
    const err = await rejectsWith(User.find(987654321), FilesErrors.NotFoundError);
    assert.ok(err instanceof FilesErrors.NotFound_UserNotFoundError, err.constructor.name);
  });

  test('Folder.create over an existing folder is ProcessingFailure_DestinationExistsError', async () => {
    const path = uniquePath('exists');
    await Folder.create(path);
    const err = await rejectsWith(Folder.create(path), FilesErrors.ProcessingFailureError);
    assert.ok(err instanceof FilesErrors.ProcessingFailure_DestinationExistsError, err.constructor.name);
  });

  test('an invalid sort field is BadRequest_InvalidSortFieldError', async () => {
    const err = await rejectsWith(User.list({ sort_by: { no_such_field: 'asc' } }), FilesErrors.BadRequestError);
    assert.ok(err instanceof FilesErrors.BadRequest_InvalidSortFieldError, err.constructor.name);
  });

  test('a missing required parameter is the SDK\'s MissingParameterError', async () => {
    await rejectsWith(User.find(), FilesErrors.MissingParameterError);
  });
});
