// Browser tests of the admin dashboard (/admin): Debian's Chromium, driven by playwright-core,
// against a real `huddle serve`. Each page is found by what a person sees (labels, roles, button
// names: the shared contract), and every change is checked through the REST API afterwards.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  REPO, APP_ID, ADMIN, ADMIN_PASSWORD, startHuddle, startBrowser, backend, browserCall, bareBrowserCall, rc,
} from './harness.mjs';

let huddle;
let browser;

before(async () => {
  huddle = await startHuddle();
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await huddle?.stop();
});

/** A new tab (its own sessionStorage, so its own sign-in) with the sign-in form sent. */
async function signInAs(user, password) {
  const page = await browser.context.newPage();
  await page.goto(`${huddle.base}/admin`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return page;
}

/** A new tab signed in as the admin (the dashboard is showing). */
async function signedIn() {
  const page = await signInAs(ADMIN, ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

/** A link of the navigation (exact: pages also have links such as "← Conversations"). */
const nav = (page, name) => page.getByRole('navigation').getByRole('link', { name, exact: true });

const securitySection = (page) =>
  page.locator('section').filter({ has: page.getByRole('heading', { name: 'Security settings' }) });

/** Waits until the status of `scope` reads exactly `text` (the server has confirmed). */
async function statusIs(scope, text) {
  await scope.getByRole('status').filter({ hasText: new RegExp(`^${text}$`) }).waitFor();
}

async function settings() {
  const r = await backend(huddle.base, 'GET', 'settings');
  assert.equal(r.status, 200);
  return r.body;
}

async function createRcUser(username, roles) {
  const admin = (await rc(huddle.base, 'POST', 'login', { user: ADMIN, password: ADMIN_PASSWORD })).body.data;
  const r = await rc(huddle.base, 'POST', 'users.create', {
    username, name: username, email: `${username}@example.com`, password: 'pw-123456', roles,
  }, admin);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

test('sign-in: an admin gets in; a non-admin and a wrong password are refused', async () => {
  await createRcUser('plainuser', ['user']);
  const refused = await signInAs('plainuser', 'pw-123456');
  await refused.getByRole('alert').filter({ hasText: 'not a Huddle administrator' }).waitFor();
  assert.equal(await nav(refused, 'Settings').isVisible(), false);
  await refused.close();

  const wrong = await signInAs(ADMIN, 'wrong-password');
  await wrong.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
  await wrong.close();

  const page = await signedIn();
  // Every page renders under the strict CSP without a violation or an uncaught error.
  const problems = [];
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.getByRole('heading', { name: 'Security settings' }).waitFor();
  for (const [name, heading] of [['Users', 'Users'], ['Conversations', 'Conversations'], ['Webhooks', 'Webhooks'],
    ['Secret keys', 'Secret keys'], ['Settings', 'Settings']]) {
    await nav(page, name).click();
    await page.getByRole('heading', { name: heading, exact: true, level: 1 }).waitFor();
    assert.equal(await nav(page, name).getAttribute('aria-current'), 'page');
  }
  assert.deepEqual(problems, []);
  // Signing out ends the Rocket.Chat session and shows the form again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.close();
});

test('Security settings: the seed\'s two boxes cut guests off, identity verification (on by default) requires signatures', async () => {
  // A conversation a guest can read while guest access is on.
  assert.equal((await backend(huddle.base, 'PUT', 'users/guestc', { name: 'Guest C' })).status, 200);
  assert.equal((await backend(huddle.base, 'PUT', 'users/usera', { name: 'User A' })).status, 200);
  assert.equal((await backend(huddle.base, 'PUT', 'conversations/sec1', { participants: ['usera'] })).status, 200);
  const guestRead = () => browserCall(huddle.base, 'guestc', 'GET', 'conversations/sec1/messages?asGuest=true');
  assert.equal((await guestRead()).status, 200);

  const page = await signedIn();
  await page.goto(`${huddle.base}/admin#/settings`);
  const section = securitySection(page);
  const userBox = section.getByLabel('Disallow user synchronization via the browser', { exact: true });
  const convBox = section.getByLabel('Disallow conversation synchronization via the browser', { exact: true });
  assert.equal(await userBox.isChecked(), false);
  assert.equal(await convBox.isChecked(), false);

  await userBox.check();
  await statusIs(section, 'Saved');
  assert.equal((await settings()).browserUserSync, false);
  await convBox.check();
  await statusIs(section, 'Saved');
  const s = await settings();
  assert.equal(s.browserConversationSync, false);
  assert.equal(s.guestsAllowed, false);
  const refused = await guestRead();
  assert.equal(refused.status, 403, JSON.stringify(refused.body));

  mkdirSync(join(REPO, 'docs', 'screenshots'), { recursive: true });
  await page.screenshot({ path: join(REPO, 'docs', 'screenshots', 'dashboard-security.png') });

  // A reload shows what the server holds.
  await page.reload();
  await securitySection(page).getByRole('heading', { name: 'Security settings' }).waitFor();
  assert.equal(await securitySection(page).getByLabel('Disallow user synchronization via the browser').isChecked(), true);

  // Identity verification is on by default: a browser naming a user without proof is refused.
  const idv = securitySection(page).getByLabel(/Identity verification/);
  assert.equal(await idv.isChecked(), true);
  assert.equal((await settings()).identityVerification, true);
  assert.equal((await bareBrowserCall(huddle.base, 'usera', 'GET', 'me')).status, 401);
  assert.equal((await browserCall(huddle.base, 'usera', 'GET', 'me')).status, 200);
  // Turned off explicitly, a bare user id is enough; turned on again, it is refused again.
  await idv.uncheck();
  await statusIs(securitySection(page), 'Saved');
  assert.equal((await settings()).identityVerification, false);
  assert.equal((await bareBrowserCall(huddle.base, 'usera', 'GET', 'me')).status, 200);
  await idv.check();
  await statusIs(securitySection(page), 'Saved');
  assert.equal((await settings()).identityVerification, true);
  assert.equal((await bareBrowserCall(huddle.base, 'usera', 'GET', 'me')).status, 401);

  // Everything back on: guests are let in again.
  await securitySection(page).getByLabel('Disallow user synchronization via the browser').uncheck();
  await securitySection(page).getByLabel('Disallow conversation synchronization via the browser').uncheck();
  await statusIs(securitySection(page), 'Saved');
  const back = await settings();
  assert.deepEqual([back.browserUserSync, back.browserConversationSync, back.identityVerification], [true, true, true]);
  assert.equal((await guestRead()).status, 200);
  await page.close();
});

test('keyboard only: sign in with Tab and Enter, tick a Security settings box with Space', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${huddle.base}/admin`);
  // The form takes focus on load; nothing is clicked from here on.
  await page.keyboard.type(ADMIN);
  await page.keyboard.press('Tab');
  await page.keyboard.type(ADMIN_PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Security settings' }).waitFor();
  const target = 'Disallow user synchronization via the browser';
  let reached = false;
  for (let i = 0; i < 30 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate((t) => document.activeElement?.labels?.[0]?.textContent === t, target);
  }
  assert.ok(reached, 'the checkbox is reachable with Tab');
  await page.keyboard.press('Space');
  await statusIs(securitySection(page), 'Saved');
  assert.equal((await settings()).browserUserSync, false);
  await page.keyboard.press('Space');
  await statusIs(securitySection(page), 'Saved');
  assert.equal((await settings()).browserUserSync, true);
  await page.close();
});

test('a change after the session ended changes nothing and returns to the sign-in form', async () => {
  const page = await signedIn();
  await page.goto(`${huddle.base}/admin#/settings`);
  const section = securitySection(page);
  await section.getByLabel('Disallow user synchronization via the browser').waitFor();
  // The session is logged out behind the page's back: the next change is refused.
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('huddle-admin-session')));
  assert.equal((await rc(huddle.base, 'POST', 'logout', {}, { userId: token.userId, authToken: token.token })).status, 200);
  // click, not check: the refused change replaces the page with the sign-in form.
  await section.getByLabel('Disallow user synchronization via the browser').click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal((await settings()).browserUserSync, true);
  await page.close();
});

test('conversations: participants added, changed and removed; guest access per conversation', async () => {
  for (const id of ['pa', 'pb', 'pc']) {
    assert.equal((await backend(huddle.base, 'PUT', `users/${id}`, { name: `Person ${id}` })).status, 200);
  }
  assert.equal((await backend(huddle.base, 'PUT', 'conversations/conv1', { subject: 'Planning', participants: ['pa'] })).status, 200);
  const participant = async (uid) => {
    const r = await backend(huddle.base, 'GET', 'conversations/conv1/participants');
    return r.body.data.find((p) => p.id === uid);
  };

  const page = await signedIn();
  await nav(page, 'Conversations').click();
  await page.getByRole('link', { name: 'conv1', exact: true }).click();
  await page.getByRole('heading', { name: 'Conversation Planning' }).waitFor();

  const addSection = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Add a participant' }) });
  await addSection.getByLabel('User id').fill('pb');
  await addSection.getByLabel('Access').selectOption('Read');
  await addSection.getByLabel('Notify').selectOption('MentionsOnly');
  await addSection.getByRole('button', { name: 'Add participant' }).click();
  await page.getByLabel('Access of pb').waitFor();
  const added = await participant('pb');
  assert.equal(added.access, 'Read');
  assert.equal(added.notify, 'MentionsOnly');

  const parts = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Participants' }) });
  await page.getByLabel('Access of pb').selectOption('ReadWrite');
  await statusIs(parts, 'Saved');
  assert.equal((await participant('pb')).access, 'ReadWrite');
  await page.getByLabel('Notify of pb').selectOption('false');
  await statusIs(parts, 'Saved');
  assert.equal((await participant('pb')).notify, false);
  await page.getByLabel('Access of pa').selectOption('None');
  await statusIs(parts, 'Saved');
  assert.equal((await participant('pa')).access, 'None');

  await page.getByRole('button', { name: 'Remove pb' }).click();
  await statusIs(parts, 'Removed');
  assert.equal(await participant('pb'), undefined);
  assert.equal(await page.getByLabel('Access of pb').count(), 0);

  // Guest access for this conversation only.
  assert.equal((await browserCall(huddle.base, 'pc', 'GET', 'conversations/conv1/messages?asGuest=true')).status, 200);
  const guest = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Guest access' }) });
  await guest.getByLabel('Allow guests in this conversation (asGuest)').uncheck();
  await statusIs(guest, 'Saved');
  assert.equal((await backend(huddle.base, 'GET', 'conversations/conv1')).body.guestAccess, false);
  assert.equal((await browserCall(huddle.base, 'pc', 'GET', 'conversations/conv1/messages?asGuest=true')).status, 403);
  await guest.getByLabel('Allow guests in this conversation (asGuest)').check();
  await statusIs(guest, 'Saved');
  assert.equal((await backend(huddle.base, 'GET', 'conversations/conv1')).body.guestAccess, true);

  // A new conversation from the list page.
  await nav(page, 'Conversations').click();
  await page.getByLabel('Conversation id').fill('conv2');
  await page.getByLabel('Subject').fill('Second');
  await page.getByRole('button', { name: 'Create conversation' }).click();
  await page.getByRole('heading', { name: 'Conversation Second' }).waitFor();
  assert.equal((await backend(huddle.base, 'GET', 'conversations/conv2')).body.subject, 'Second');
  await page.close();
});

test('webhooks: an endpoint with chosen events, its delivery log, and a redelivery', async () => {
  const received = [];
  let arrived = () => {};
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.end('ok');
      arrived();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  const nextDelivery = (n) => new Promise((r) => {
    arrived = () => { if (received.length >= n) r(); };
    arrived();
  });

  const page = await signedIn();
  await nav(page, 'Webhooks').click();
  await page.getByLabel('Endpoint URL').fill(url);
  await page.getByLabel('user.created', { exact: true }).check();
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await page.getByRole('link', { name: url }).waitFor();
  const hooks = (await backend(huddle.base, 'GET', 'webhooks')).body.data;
  assert.deepEqual(hooks.map((h) => [h.url, h.events]), [[url, ['user.created']]]);

  assert.equal((await backend(huddle.base, 'PUT', 'users/hooked', { name: 'Hooked' })).status, 200);
  await nextDelivery(1);
  assert.equal(received[0].type, 'user.created');

  await page.getByRole('link', { name: url }).click();
  await page.getByRole('heading', { name: 'Delivery log' }).waitFor();
  // The log shows the delivery once the server has recorded it as delivered.
  for (let i = 0; i < 100 && (await page.getByText(/^delivered /).count()) === 0; i++) {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('heading', { name: 'Delivery log' }).waitFor();
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.getByText(/^delivered /).first().waitFor();
  await page.getByRole('button', { name: /^Redeliver user\.created/ }).first().click();
  await nextDelivery(2);
  assert.equal(received[1].type, 'user.created');
  assert.equal(received[1].data.user.id, received[0].data.user.id);

  await page.getByRole('link', { name: '← Webhooks' }).click();
  await page.getByRole('button', { name: `Delete endpoint ${url}` }).click();
  await page.getByText('No endpoints yet.').waitFor();
  assert.deepEqual((await backend(huddle.base, 'GET', 'webhooks')).body.data, []);
  await page.close();
  await new Promise((r) => receiver.close(r));
});

test('secret keys: create shows the secret once, rotate replaces it, revoke ends it', async () => {
  const page = await signedIn();
  await nav(page, 'Secret keys').click();
  await page.getByRole('button', { name: 'Create secret key' }).click();
  const secretEl = page.getByTestId('new-secret');
  await secretEl.waitFor();
  const first = await secretEl.textContent();
  assert.match(first, /^sk_live_/);
  const settingsWith = (key) => fetch(`${huddle.base}/v1/${APP_ID}/settings`, { headers: { Authorization: `Bearer ${key}` } }).then((r) => r.status);
  assert.equal(await settingsWith(first), 200);
  const keys = (await backend(huddle.base, 'GET', 'keys')).body.data;
  const created = keys.find((k) => !k.revokedAt && first.endsWith(k.lastChars));
  assert.ok(created, JSON.stringify(keys));

  await page.getByRole('button', { name: `Rotate key ${created.id}` }).click();
  await statusIs(page.locator('section'), 'Rotated');
  const second = await page.getByTestId('new-secret').textContent();
  assert.notEqual(second, first);
  assert.equal(await settingsWith(first), 401);
  assert.equal(await settingsWith(second), 200);

  const now = (await backend(huddle.base, 'GET', 'keys')).body.data;
  const replacement = now.find((k) => !k.revokedAt && second.endsWith(k.lastChars) && k.id !== created.id);
  await page.getByRole('button', { name: `Revoke key ${replacement.id}` }).click();
  await statusIs(page.locator('section'), 'Revoked');
  assert.equal(await settingsWith(second), 401);
  assert.equal(await page.getByRole('button', { name: `Revoke key ${replacement.id}` }).count(), 0);
  // A reload never shows a secret again.
  await page.reload();
  await page.getByRole('button', { name: 'Create secret key' }).waitFor();
  assert.equal(await page.getByTestId('new-secret').count(), 0);
  assert.equal((await page.content()).includes(second), false);
  await page.close();
});

test('users: listed with paging, viewed, created and updated through the upsert', async () => {
  for (let i = 0; i < 23; i++) {
    const id = `u${String(i).padStart(2, '0')}`;
    assert.equal((await backend(huddle.base, 'PUT', `users/${id}`, { name: `User ${i}` })).status, 200);
  }
  const page = await signedIn();
  await nav(page, 'Users').click();
  await page.getByRole('heading', { name: 'All users' }).waitFor();
  const firstPage = await page.locator('tbody tr').count();
  assert.equal(firstPage, 20);
  await page.getByRole('link', { name: 'Next page' }).click();
  await page.getByRole('heading', { name: 'Users (continued)' }).waitFor();
  assert.ok((await page.locator('tbody tr').count()) >= 3);

  await page.getByRole('link', { name: 'First page' }).click();
  await page.getByRole('heading', { name: 'All users' }).waitFor();
  const section = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Create or update a user' }) });
  await section.getByLabel('User id').fill('newbie');
  await section.getByLabel('Name').fill('New Bie');
  await section.getByLabel('Email').fill('newbie@example.com');
  await section.getByRole('button', { name: 'Create or update user' }).click();
  await page.getByRole('heading', { name: 'User New Bie' }).waitFor();
  const u = (await backend(huddle.base, 'GET', 'users/newbie')).body;
  assert.equal(u.name, 'New Bie');
  assert.deepEqual(u.email, ['newbie@example.com']);

  const edit = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Edit user' }) });
  await edit.getByLabel('Name').fill('Newly Renamed');
  await edit.getByRole('button', { name: 'Save user' }).click();
  await statusIs(edit, 'Saved');
  assert.equal((await backend(huddle.base, 'GET', 'users/newbie')).body.name, 'Newly Renamed');
  await page.close();
});
