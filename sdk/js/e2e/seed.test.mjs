// The seed's story in a real browser (Debian's Chromium via playwright-core), with the example
// app (examples/embed) as the host page and the real admin dashboard:
//   A adds B with setParticipant; B's open inbox shows it live; C opens it asGuest and reads and
//   writes; the admin ticks the two boxes; C's chat box is cut off at once and a new asGuest
//   select is refused; A's setParticipant is refused with the typed error while sending still
//   works; a backend DELETE of B's participant removes the conversation from B's screen live.
// Runs on SQLite, and on PostgreSQL when HUDDLE_TEST_POSTGRES_URL is set.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { backend, until, REPO, ADMIN, ADMIN_PASSWORD } from '../test/harness.mjs';
import { startStack, openAs, chat, messageIn } from './browser.mjs';

let huddle;
let example;
let browser;
let stack;
// Screenshots are kept in git; only the SQLite run writes them, so one test run makes one set.
const SHOTS = process.env.HUDDLE_TEST_POSTGRES_URL ? null : join(REPO, 'docs', 'screenshots');

before(async () => {
  stack = await startStack('e2e');
  ({ huddle, example, browser } = stack);
});

after(async () => {
  await stack?.stop();
});

const inboxItem = (page, name) => page.getByRole('listbox', { name: 'Conversations' }).getByRole('option', { name: new RegExp(name) });

async function typeAndSend(page, text) {
  const box = chat(page).getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
  await messageIn(page, text).waitFor();
}

test('the seed story: setParticipant, live inbox, a guest, the two boxes, a backend DELETE', async () => {
  const ctx = browser.context;
  const cid = 'seed-planning';
  // B's inbox is open before anything happens.
  const b = await openAs(ctx, example.base, 'bob');
  await b.getByRole('listbox', { name: 'Conversations' }).getByText('No conversations yet.').waitFor();

  // A creates the conversation and adds B from the browser with setParticipant.
  const a = await openAs(ctx, example.base, 'alice');
  await a.evaluate(async (cid) => {
    const conv = window.demo.session.conversation(cid);
    await conv.createIfNotExists({ subject: 'Seed planning' });
    await conv.setParticipant('bob');
    await conv.send('Welcome, Bob!');
    await window.demo.chatbox.select(conv);
  }, cid);
  await messageIn(a, 'Welcome, Bob!').waitFor();

  // B's open inbox shows it live; B opens it from there.
  await inboxItem(b, 'Seed planning').waitFor();
  await inboxItem(b, 'Seed planning').click();
  await messageIn(b, 'Welcome, Bob!').waitFor();
  // B types: A's chat box shows it; B's message ends it.
  await chat(b).getByRole('textbox', { name: 'Message' }).pressSequentially('Thanks');
  await chat(a).getByRole('status').filter({ hasText: 'Bob is typing…' }).waitFor();
  await typeAndSend(b, 'Thanks Alice');
  await messageIn(a, 'Thanks Alice').waitFor();
  await until(async () => (await chat(a).getByText('Bob is typing…').count()) === 0, 'typing cleared');

  // C, not a participant, opens it as a guest: reads and writes, with a visible guest badge.
  const c = await openAs(ctx, example.base, 'carol', `&conversation=${cid}&asGuest=1`);
  await messageIn(c, 'Thanks Alice').waitFor();
  await chat(c).getByText('Guest', { exact: true }).waitFor();
  await typeAndSend(c, 'Hi, guest here');
  await messageIn(a, 'Hi, guest here').waitFor();
  const conv = await backend(huddle.base, 'GET', `conversations/${cid}`);
  assert.deepEqual(Object.keys(conv.participants).sort(), ['alice', 'bob'], 'a guest is not a participant');
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await c.screenshot({ path: join(SHOTS, 'chatbox-guest.png') });
    await a.screenshot({ path: join(SHOTS, 'chatbox-participant.png') });
  }

  // The admin ticks the two boxes in the real dashboard.
  const admin = await ctx.newPage();
  await admin.goto(`${huddle.base}/admin`);
  await admin.getByLabel('Username').fill(ADMIN);
  await admin.getByLabel('Password').fill(ADMIN_PASSWORD);
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await admin.getByRole('navigation').getByRole('link', { name: 'Settings', exact: true }).click();
  const security = admin.locator('section').filter({ has: admin.getByRole('heading', { name: 'Security settings' }) });
  await security.getByLabel('Disallow user synchronization via the browser', { exact: true }).check();
  await until(async () => !(await backend(huddle.base, 'GET', 'settings')).browserUserSync, 'user sync off');
  await security.getByLabel('Disallow conversation synchronization via the browser', { exact: true }).check();
  await until(async () => !(await backend(huddle.base, 'GET', 'settings')).browserConversationSync, 'conversation sync off');
  await security.getByRole('status').filter({ hasText: /^Saved$/ }).waitFor();
  if (SHOTS) await admin.screenshot({ path: join(SHOTS, 'seed-security-settings.png') });

  // C's chat box is cut off at once: the messages are gone and it says why.
  await chat(c).getByRole('alert').filter({ hasText: 'Guest access to this conversation has been switched off.' }).waitFor();
  assert.equal(await chat(c).getByText('Hi, guest here').count(), 0, 'cleared');
  // A new asGuest select is refused with the typed error, and the box says so.
  const refused = await c.evaluate((cid) => window.demo.chatbox.select(cid, { asGuest: true }).then(() => 'opened', (e) => `${e.name}:${e.code}`), cid);
  assert.equal(refused, 'GuestAccessDisabledError:GUEST_ACCESS_DISABLED');
  await chat(c).getByRole('alert').filter({ hasText: 'Guest access to this conversation is not allowed.' }).waitFor();

  // A's setParticipant is refused with the typed error; sending still works.
  const denied = await a.evaluate((cid) => window.demo.session.conversation(cid).setParticipant('carol')
    .then(() => 'added', (e) => `${e.name}:${e.code}:${e instanceof window.Huddle.BrowserSyncDisallowedError}`), cid);
  assert.equal(denied, 'BrowserSyncDisallowedError:BROWSER_SYNC_DISALLOWED:true');
  await typeAndSend(a, 'Sending still works');
  await messageIn(b, 'Sending still works').waitFor();

  // A backend DELETE of B's participant removes the conversation from B's screen, live.
  await backend(huddle.base, 'DELETE', `conversations/${cid}/participants/bob`);
  await until(async () => (await inboxItem(b, 'Seed planning').count()) === 0, "B's inbox entry gone");
  await chat(b).getByRole('alert').filter({ hasText: 'You were removed from this conversation.' }).waitFor();
  assert.equal(await chat(b).getByText('Sending still works').count(), 0);

  for (const p of [a, b, c]) assert.deepEqual(p.errors, [], 'no uncaught errors in the page');
});
