// Users and groups: create, find, list with sort_by and every documented
// filter kind (the README's examples included), update, delete. The demo
// site's own users are in every listing too, so assertions look at the users
// this file made (a unique username prefix) and at the bounds of the rest.
'use strict';

const assert = require('node:assert/strict');
const { describe, before } = require('node:test');

const User = require('files.com/lib/models/User.js').default;
const Group = require('files.com/lib/models/Group.js').default;
const GroupUser = require('files.com/lib/models/GroupUser.js').default;
const FilesErrors = require('files.com/lib/Errors.js');

const { rejectsWith, test, uniquePath } = require('./lib/sdk.js');

describe('users', () => {
  const prefix = uniquePath('u').replace(/-/g, '');
  const company = `${prefix}co`;
  // username -> attributes; authenticate_until and password_validity_days
  // give the range filters something to compare.
  const people = {
    [`${prefix}alice`]: { name: 'Alice Zed', site_admin: true, password_validity_days: 10, authenticate_until: '2030-01-01T00:00:00Z' },
    [`${prefix}bob`]: { name: 'Bob Young', site_admin: false, password_validity_days: 20, authenticate_until: '2031-01-01T00:00:00Z' },
    [`${prefix}carol`]: { name: 'Carol Xu', site_admin: false, password_validity_days: 30, authenticate_until: '2032-01-01T00:00:00Z' },
  };
  const ids = {};

  before(async () => {
    for (const [username, attrs] of Object.entries(people)) {
      const user = await User.create({ username, email: `${username}@example.com`, company, password: 'Pa55word-long-enough', ...attrs });
      assert.ok(user instanceof User);
      ids[username] = user.id;
    }
  });

  const mine = (users) => users.map((u) => u.username).filter((n) => n.startsWith(prefix));
  const [alice, bob, carol] = Object.keys(people);

  test('User.create answers the user; User.find finds it by id', async () => {
    const found = await User.find(ids[bob]);
    assert.equal(found.username, bob);
    assert.equal(found.name, 'Bob Young');
    assert.equal(found.company, company);
  });

  test('sort_by username asc and desc', async () => {
    const asc = mine(await User.list({ sort_by: { username: 'asc' } }));
    assert.deepEqual(asc, [alice, bob, carol]);
    const desc = mine(await User.list({ sort_by: { username: 'desc' } }));
    assert.deepEqual(desc, [carol, bob, alice]);
  });

  test('sort_by password_validity_days desc', async () => {
    const users = await User.list({ sort_by: { password_validity_days: 'desc' } });
    assert.deepEqual(mine(users), [carol, bob, alice]);
  });

  test('filter (exact): username, company', async () => {
    assert.deepEqual(mine(await User.list({ filter: { username: bob } })), [bob]);
    assert.deepEqual(mine(await User.list({ filter: { company } })).sort(), [alice, bob, carol]);
  });

  test('filter[not_site_admin]=true (README example) leaves site admins out', async () => {
    const users = await User.list({ filter: { not_site_admin: true } });
    assert.ok(users.every((u) => !u.site_admin), 'no site admin listed');
    assert.deepEqual(mine(users).sort(), [bob, carol]);
  });

  test('filter site_admin=true with username (a documented combination)', async () => {
    assert.deepEqual(mine(await User.list({ filter: { site_admin: true, username: alice } })), [alice]);
    assert.deepEqual(mine(await User.list({ filter: { site_admin: true, username: bob } })), []);
  });

  test('filter_prefix username (README example)', async () => {
    assert.deepEqual(mine(await User.list({ filter_prefix: { username: prefix } })).sort(), [alice, bob, carol]);
  });

  test('filter_gt / filter_gteq / filter_lt / filter_lteq on password_validity_days', async () => {
    const cases = [
      ['filter_gt', 20, [carol], (v) => v > 20],
      ['filter_gteq', 20, [bob, carol], (v) => v >= 20],
      ['filter_lt', 20, [alice], (v) => v < 20],
      ['filter_lteq', 20, [alice, bob], (v) => v <= 20],
    ];
    for (const [kind, value, want, holds] of cases) {
      const users = await User.list({ [kind]: { password_validity_days: value } });
      assert.deepEqual(mine(users).sort(), want, kind);
      for (const u of users) assert.ok(holds(Number(u.password_validity_days)), `${kind}: ${u.username}`);
    }
  });

  test('range filters on a date field (authenticate_until)', async () => {
    assert.deepEqual(mine(await User.list({ filter_gteq: { authenticate_until: '2031-01-01T00:00:00Z' } })).sort(), [bob, carol]);
    assert.deepEqual(mine(await User.list({ filter_lt: { authenticate_until: '2031-01-01T00:00:00Z' } })).sort(), [alice]);
  });

  test('README combination: filter_prefix username + filter not_site_admin + sort_by last_login_at', async () => {
    const users = await User.list({
      filter_prefix: { username: prefix },
      filter: { not_site_admin: true },
      sort_by: { last_login_at: 'asc' },
    });
    assert.deepEqual(mine(users).sort(), [bob, carol]);
  });

  test('an undocumented filter field is a BadRequestError', async () => {
    await rejectsWith(User.list({ filter: { notes: 'x' } }), FilesErrors.BadRequestError);
  });

  test('search finds by partial name', async () => {
    assert.deepEqual(mine(await User.list({ search: `${prefix}car` })), [carol]);
  });

  test('user.update and user.delete', async () => {
    const user = await User.find(ids[carol]);
    const updated = await user.update({ name: 'Carol Renamed' });
    assert.equal(updated.name, 'Carol Renamed');
    assert.equal((await User.find(ids[carol])).name, 'Carol Renamed');
    await user.delete();
    await rejectsWith(User.find(ids[carol]), FilesErrors.NotFoundError);
  });
});

describe('groups', () => {
  const prefix = uniquePath('g').replace(/-/g, '');
  let user;
  before(async () => {
    user = await User.create({ username: `${prefix}member`, email: `${prefix}member@example.com` });
  });

  test('Group.create with user_ids; find, list with filter and sort', async () => {
    const made = [];
    for (const suffix of ['b', 'a', 'c']) {
      made.push(await Group.create({ name: `${prefix}${suffix}`, notes: 'made by the conformance suite', user_ids: String(user.id) }));
    }
    assert.ok(made.every((g) => g instanceof Group && g.id));

    const found = await Group.find(made[0].id);
    assert.equal(found.name, `${prefix}b`);

    const byName = await Group.list({ filter: { name: `${prefix}a` } });
    assert.deepEqual(byName.map((g) => g.name), [`${prefix}a`]);

    const sorted = (await Group.list({ sort_by: { name: 'desc' }, filter_prefix: { name: prefix } })).map((g) => g.name);
    assert.deepEqual(sorted, ['c', 'b', 'a'].map((s) => `${prefix}${s}`));
  });

  test('GroupUser.list shows the membership; group.update; group.delete', async () => {
    const group = await Group.create({ name: `${prefix}members` });
    await GroupUser.create({ group_id: group.id, user_id: user.id });
    const members = await GroupUser.list({ group_id: group.id });
    assert.deepEqual(members.map((m) => Number(m.user_id)), [Number(user.id)]);

    const updated = await group.update({ notes: 'updated' });
    assert.equal(updated.notes, 'updated');
    await group.delete();
    await rejectsWith(Group.find(group.id), FilesErrors.NotFoundError);
  });
});
