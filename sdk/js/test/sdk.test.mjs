// The data API against a real `huddle serve`: every method, each typed error, token refresh,
// and reconnect with resume through a proxy the test cuts. Imports the committed ESM build (the
// file Huddle serves), not the sources.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  getSession, BrowserSyncDisallowedError, NoWriteAccessError, InvalidTokenError,
  GuestAccessDisabledError, NotFoundError, HuddleError, tokenExpiry,
} from '../dist/huddle.mjs';
import { startHuddle, backend, userToken, signature, until, tcpProxy, APP_ID } from './harness.mjs';

let huddle;
const sessions = [];

before(async () => { huddle = await startHuddle('sdk'); });
after(async () => {
  for (const s of sessions) s.destroy();
  await huddle?.stop();
});

let n = 0;
const uid = (p) => `${p}${++n}_${Math.random().toString(36).slice(2, 7)}`;

async function user(prefix = 'u') {
  const id = uid(prefix);
  await backend(huddle.base, 'PUT', `users/${id}`, { name: `Name ${id}` });
  return id;
}

async function session(userId, extra = {}) {
  const s = await getSession({ url: huddle.base, appId: APP_ID, userId, token: userToken(userId), ...extra });
  sessions.push(s);
  return s;
}

async function settings(v) {
  return backend(huddle.base, 'PUT', 'settings', v);
}

/** Collects a subscription's values; `next(pred)` waits for one that matches. */
function collector() {
  const seen = [];
  return {
    seen,
    push: (v) => seen.push(v),
    last: () => seen[seen.length - 1],
    /** Resolves with the first value that matches (which may itself be null). */
    next: (pred, what) => until(() => { const i = seen.findIndex(pred); return i >= 0 && { value: seen[i] }; }, what).then((r) => r.value),
  };
}

test('getSession: token, signature, tokenFetcher; bad and expired tokens are InvalidTokenError', async () => {
  const a = await user('a');
  const byToken = await session(a);
  assert.equal((await byToken.me()).user.id, a);
  const bySig = await session(a, { token: undefined, signature: signature(a) });
  assert.equal((await bySig.me()).verified, true);
  let fetched = 0;
  const byFetcher = await session(a, { token: undefined, tokenFetcher: async () => { fetched++; return userToken(a); } });
  assert.equal(fetched, 1);
  assert.equal((await byFetcher.me()).user.id, a);

  await assert.rejects(getSession({ url: huddle.base, appId: APP_ID, userId: a, token: 'not.a.jwt' }), InvalidTokenError);
  await assert.rejects(
    getSession({ url: huddle.base, appId: APP_ID, userId: a, token: userToken(a, { expiresIn: -60 }) }),
    (e) => e instanceof InvalidTokenError && e.status === 401 && e instanceof HuddleError,
  );
  await assert.rejects(getSession({ url: huddle.base, appId: APP_ID, userId: a, token: userToken(a, { secret: 'wrong' }) }), InvalidTokenError);
  await assert.rejects(getSession({ url: huddle.base, appId: APP_ID, userId: a, signature: 'ab'.repeat(32) }), InvalidTokenError);
  // A token for another user would sign in as them: refused before any request.
  await assert.rejects(getSession({ url: huddle.base, appId: APP_ID, userId: 'someone-else', token: userToken(a) }),
    (e) => e instanceof InvalidTokenError && e.code === 'TOKEN_USER_MISMATCH');
});

test('tokens: refreshed before they expire, and once after a 401', async () => {
  const a = await user('a');
  const tokens = [];
  // Short-lived tokens: the session must replace each one before it runs out.
  const s = await session(a, { token: undefined, tokenFetcher: async () => { const t = userToken(a, { expiresIn: 2 }); tokens.push(t); return t; } });
  await until(() => tokens.length >= 3, 'two refreshes before expiry');
  assert.ok(tokenExpiry(tokens[0]) > Date.now() - 5000);
  assert.equal((await s.me()).user.id, a);

  // A token the server refuses (here: signed with another key) is replaced once and retried.
  let calls = 0;
  const t = await session(a, { token: userToken(a), tokenFetcher: async () => { calls++; return userToken(a); } });
  t.setToken(userToken(a, { secret: 'revoked-key' }));
  const before = calls;
  assert.equal((await t.me()).user.id, a);
  assert.equal(calls, before + 1);
});

test('user(): get, set, createIfNotExists, subscribe; user sync off is BrowserSyncDisallowedError', async () => {
  const a = await user('a');
  const s = await session(a);
  const id = uid('new');
  assert.equal(await s.user(id).get(), null);
  const values = collector();
  const sub = s.user(id).subscribe(values.push);
  await values.next((v) => v === null, 'initial null');
  await s.user(id).createIfNotExists({ name: 'First' });
  await values.next((v) => v?.name === 'First', 'created');
  await s.user(id).createIfNotExists({ name: 'Second' });
  assert.equal((await s.user(id).get()).name, 'First');
  await s.user(id).set({ name: 'Renamed', custom: { team: 'x' } });
  await values.next((v) => v?.name === 'Renamed' && v.custom.team === 'x', 'renamed');
  sub.unsubscribe();

  await settings({ browserUserSync: false });
  try {
    await assert.rejects(s.user(id).set({ name: 'Nope' }), (e) => e instanceof BrowserSyncDisallowedError && e.code === 'BROWSER_SYNC_DISALLOWED');
    assert.equal((await s.user(id).get()).name, 'Renamed');
  } finally {
    await settings({ browserUserSync: true });
  }
});

test('conversation(): get/set/createIfNotExists, participants, leave, send, markAsRead', async () => {
  const [a, b] = [await user('a'), await user('b')];
  const sa = await session(a);
  const sb = await session(b);
  const cid = uid('c');
  const conv = sa.conversation(cid);
  assert.equal(await conv.get(), null);
  await conv.createIfNotExists({ subject: 'Plans' });
  await conv.createIfNotExists({ subject: 'Ignored' });
  let c = await conv.get();
  assert.equal(c.subject, 'Plans');
  assert.deepEqual(Object.keys(c.participants), [a]);
  await conv.set({ subject: 'Plans v2', custom: { k: 'v' } });
  assert.equal((await conv.get()).subject, 'Plans v2');

  assert.equal(await sb.conversation(cid).get(), null, 'not a participant: null');
  assert.equal(await conv.participant(b).get(), null);
  await conv.setParticipant(b, { access: 'Read' });
  assert.equal((await conv.participant(b).get()).access, 'Read');
  await conv.participant(b).createIfNotExists({ access: 'ReadWrite' });
  assert.equal((await conv.participant(b).get()).access, 'Read', 'createIfNotExists leaves it');
  await assert.rejects(sb.conversation(cid).send('hi'), (e) => e instanceof NoWriteAccessError && e.code === 'NO_WRITE_ACCESS');
  await conv.participant(b).edit({ access: 'ReadWrite', notify: 'MentionsOnly' });
  const pb = await conv.participant(b).get();
  assert.equal(pb.access, 'ReadWrite');
  assert.equal(pb.notify, 'MentionsOnly');

  const sent = await sb.conversation(cid).send('hello', { custom: { x: '1' }, idempotencyKey: 'k1' });
  const again = await sb.conversation(cid).send('hello', { idempotencyKey: 'k1' });
  assert.equal(again.id, sent.id, 'idempotent send');
  assert.equal(sent.senderId, b);
  assert.equal((await sa.conversation(cid).get()).participants[a].isUnread, true);
  await sa.conversation(cid).markAsRead();
  assert.equal((await sa.conversation(cid).get()).participants[a].isUnread, false);

  await sb.conversation(cid).leave();
  assert.equal(await sb.conversation(cid).get(), null);
  await conv.setParticipant(b);
  await conv.participant(b).delete();
  assert.equal(await conv.participant(b).get(), null);
  await assert.rejects(conv.participant(b).edit({ access: 'Read' }), NotFoundError);
  await assert.rejects(conv.setParticipant(b, { access: 'Everything' }), (e) => e.code === 'INVALID_ACCESS' && e.status === 400);
});

test('conversation sync off: participant and conversation writes refused, sending works', async () => {
  const [a, b] = [await user('a'), await user('b')];
  const s = await session(a);
  const cid = uid('c');
  await s.conversation(cid).createIfNotExists();
  await settings({ browserConversationSync: false });
  try {
    await assert.rejects(s.conversation(cid).setParticipant(b), BrowserSyncDisallowedError);
    await assert.rejects(s.conversation(cid).set({ subject: 'x' }), BrowserSyncDisallowedError);
    await assert.rejects(s.conversation(cid).participant(b).delete(), BrowserSyncDisallowedError);
    const m = await s.conversation(cid).send('still works');
    assert.equal(m.text, 'still works');
    assert.notEqual(await s.conversation(cid).get(), null, 'reads work');
  } finally {
    await settings({ browserConversationSync: true });
  }
});

test('subscribeMessages: windowed with loadMore, live messages once, edits and deletes', async () => {
  const a = await user('a');
  const s = await session(a);
  const cid = uid('c');
  await s.conversation(cid).createIfNotExists();
  for (let i = 1; i <= 25; i++) {
    await backend(huddle.base, 'POST', `conversations/${cid}/messages`, [{ text: `m${i}`, sender: a, type: 'UserMessage' }]);
  }
  const w = collector();
  const sub = s.conversation(cid).subscribeMessages(w.push, { limit: 10 });
  await sub.ready;
  assert.deepEqual(w.last().messages.map((m) => m.text), Array.from({ length: 10 }, (_, i) => `m${i + 16}`));
  assert.equal(w.last().loadedAll, false);
  await sub.loadMore(10);
  assert.equal(w.last().messages.length, 20);
  assert.equal(w.last().messages[0].text, 'm6');
  await sub.loadMore(10);
  assert.equal(w.last().messages.length, 25);
  assert.equal(w.last().loadedAll, true);

  const live = await s.conversation(cid).send('live one');
  await w.next((x) => x.messages.at(-1)?.text === 'live one', 'live message');
  assert.equal(w.last().messages.filter((m) => m.id === live.id).length, 1, 'once, not doubled by the send answer');
  await backend(huddle.base, 'PUT', `conversations/${cid}/messages/${live.id}`, { text: 'edited' });
  await w.next((x) => x.messages.at(-1)?.text === 'edited', 'edit');
  await backend(huddle.base, 'DELETE', `conversations/${cid}/messages/${live.id}`);
  await w.next((x) => !x.messages.some((m) => m.id === live.id), 'delete');
  sub.unsubscribe();
});

test('subscribe / subscribeParticipants: live changes; null and onEnd when removed', async () => {
  const [a, b, c] = [await user('a'), await user('b'), await user('c')];
  const sa = await session(a);
  const sb = await session(b);
  const cid = uid('c');
  await sa.conversation(cid).createIfNotExists({ participants: [b] });
  const conv = collector();
  const parts = collector();
  const ended = [];
  const s1 = sb.conversation(cid).subscribe(conv.push, { onEnd: (r) => ended.push(r) });
  const s2 = sb.conversation(cid).subscribeParticipants(parts.push);
  await s1.ready;
  await s2.ready;
  await sa.conversation(cid).set({ subject: 'New subject' });
  await conv.next((v) => v?.subject === 'New subject', 'subject');
  await sa.conversation(cid).setParticipant(c);
  await parts.next((p) => p[c], 'c joined');
  await sa.conversation(cid).participant(c).delete();
  await parts.next((p) => !p[c] && p[a], 'c left');
  await backend(huddle.base, 'DELETE', `conversations/${cid}/participants/${b}`);
  await conv.next((v) => v === null, 'null after removal');
  await until(() => ended.length, 'onEnd');
  assert.deepEqual(ended, ['removed']);
  s1.unsubscribe();
  s2.unsubscribe();
});

test('subscribeConversations: windowed inbox by last activity, live joins and removals', async () => {
  const [a, b] = [await user('a'), await user('b')];
  const sa = await session(a);
  const sb = await session(b);
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const cid = uid('inbox');
    ids.push(cid);
    await sb.conversation(cid).createIfNotExists({ subject: `s${i}` });
    await sb.conversation(cid).send(`hello ${i}`);
  }
  const w = collector();
  const sub = sb.subscribeConversations(w.push, { limit: 3 });
  await sub.ready;
  assert.equal(w.last().conversations.length, 3);
  assert.equal(w.last().loadedAll, false);
  await sub.loadMore(10);
  assert.equal(w.last().conversations.length, 5);
  assert.equal(w.last().loadedAll, true);
  // Activity moves a conversation to the top.
  await sb.conversation(ids[0]).send('bump');
  await w.next((x) => x.conversations[0]?.id === ids[0] && x.conversations[0].lastMessage?.text === 'bump', 'bump to top');

  const cid = uid('fromA');
  await sa.conversation(cid).createIfNotExists({ subject: 'From A' });
  await sa.conversation(cid).setParticipant(b);
  await w.next((x) => x.conversations.some((c) => c.id === cid), 'new conversation appears live');
  await backend(huddle.base, 'DELETE', `conversations/${cid}/participants/${b}`);
  await w.next((x) => !x.conversations.some((c) => c.id === cid), 'removed live');
  sub.unsubscribe();
});

test('guests: asGuest reads and writes; guests off refuses with GuestAccessDisabledError and ends live views', async () => {
  const [a, g] = [await user('a'), await user('guest')];
  const sa = await session(a);
  const sg = await session(g);
  const cid = uid('c');
  await sa.conversation(cid).createIfNotExists({ subject: 'Open' });
  await sa.conversation(cid).send('welcome');
  assert.equal(await sg.conversation(cid).get(), null, 'without asGuest: not visible');
  const asGuest = await sg.conversation(cid).get({ asGuest: true });
  assert.equal(asGuest.guest, true);
  assert.equal(asGuest.participants[g], undefined, 'a guest is not a participant');
  assert.equal((await sa.conversation(cid).get({ asGuest: true })).guest, false, 'asGuest: no effect for a participant');
  const ended = [];
  const w = collector();
  const sub = sg.conversation(cid).subscribeMessages(w.push, { asGuest: true, onEnd: (r, e) => ended.push(r) });
  await sub.ready;
  assert.equal(w.last().messages[0].text, 'welcome');
  await sg.conversation(cid).send('guest here', { asGuest: true });
  await w.next((x) => x.messages.some((m) => m.text === 'guest here'), 'guest message');

  await settings({ browserUserSync: false, browserConversationSync: false });
  try {
    await until(() => ended.length, 'guest view ended');
    assert.deepEqual(ended, ['guest-access-off']);
    assert.deepEqual(w.last().messages, [], 'cleared');
    await assert.rejects(sg.conversation(cid).get({ asGuest: true }), (e) => e instanceof GuestAccessDisabledError && e.code === 'GUEST_ACCESS_DISABLED');
    await assert.rejects(sg.conversation(cid).send('x', { asGuest: true }), GuestAccessDisabledError);
    const refused = sg.conversation(cid).subscribeMessages(() => undefined, { asGuest: true });
    await assert.rejects(refused.ready, GuestAccessDisabledError);
  } finally {
    await settings({ browserUserSync: true, browserConversationSync: true });
  }
  // The conversation's own switch.
  await backend(huddle.base, 'PUT', `conversations/${cid}`, { guestAccess: false });
  await assert.rejects(sg.conversation(cid).get({ asGuest: true }), GuestAccessDisabledError);
});

test('typing: setTyping reaches subscribeTyping of others; stops on false, on a message, and not for guests', async () => {
  const [a, b, g] = [await user('a'), await user('b'), await user('g')];
  const sa = await session(a);
  const sb = await session(b);
  const sg = await session(g);
  const cid = uid('c');
  await sa.conversation(cid).createIfNotExists({ participants: [b] });
  const seenByB = collector();
  const seenByA = collector();
  const seenByG = collector();
  const tb = sb.conversation(cid).subscribeTyping(seenByB.push);
  const ta = sa.conversation(cid).subscribeTyping(seenByA.push);
  const tg = sg.conversation(cid).subscribeTyping(seenByG.push, { asGuest: true });
  await Promise.all([tb.ready, ta.ready, tg.ready]);
  sa.conversation(cid).setTyping(true);
  await seenByB.next((ids) => ids.length === 1 && ids[0] === a, 'B sees A typing');
  await seenByG.next((ids) => ids[0] === a, 'a guest sees A typing');
  sa.conversation(cid).setTyping(false);
  await seenByB.next((ids, i) => i > 0 && ids.length === 0, 'stopped');
  sa.conversation(cid).setTyping(true);
  await until(() => seenByB.seen.filter((ids) => ids.length === 1).length === 2, 'typing again');
  await sa.conversation(cid).send('done typing');
  await until(() => seenByB.last().length === 0, 'a message ends typing');
  // A guest's typing is shown to no one; nobody sees themselves type. The two notices go over
  // two sockets, so nothing orders them by itself: a round trip on the guest's socket (whose
  // frames the server handles in order, routing each before the next) puts the guest's notice
  // ahead of B's; A seeing B then means A would already have seen the guest.
  sg.conversation(cid).setTyping(true, { asGuest: true });
  const barrier = sg.conversation(cid).subscribeTyping(() => undefined, { asGuest: true });
  await barrier.ready;
  barrier.unsubscribe();
  sb.conversation(cid).setTyping(true);
  await seenByA.next((ids) => ids[0] === b, 'A sees B');
  assert.ok(seenByA.seen.every((ids) => !ids.includes(g) && !ids.includes(a)));
  assert.ok(seenByB.seen.every((ids) => !ids.includes(g) && !ids.includes(b)));
  for (const t of [ta, tb, tg]) t.unsubscribe();
});

test('reconnect: a cut connection resumes with every message once, in order', async () => {
  const a = await user('a');
  const proxy = await tcpProxy(Number(new URL(huddle.base).port));
  try {
    const s = await getSession({ url: proxy.base, appId: APP_ID, userId: a, token: userToken(a) });
    sessions.push(s);
    const cid = uid('c');
    await s.conversation(cid).createIfNotExists();
    await s.conversation(cid).send('before');
    const w = collector();
    const inbox = collector();
    const sub = s.conversation(cid).subscribeMessages(w.push, { limit: 50 });
    const ib = s.subscribeConversations(inbox.push);
    await sub.ready;
    await ib.ready;
    await s.conversation(cid).send('live 1');
    await w.next((x) => x.messages.some((m) => m.text === 'live 1'), 'live 1');

    for (let round = 0; round < 3; round++) {
      proxy.cut({ hold: true });
      // Posted while the client is offline: it must get them from the resume, not lose them.
      for (let i = 0; i < 5; i++) {
        await backend(huddle.base, 'POST', `conversations/${cid}/messages`, [{ text: `gap ${round}.${i}`, sender: a, type: 'UserMessage' }]);
      }
      proxy.release();
      await w.next((x) => x.messages.some((m) => m.text === `gap ${round}.4`), `round ${round} replayed`);
      await inbox.next((x) => x.conversations.find((c) => c.id === cid)?.lastMessage?.text === `gap ${round}.4`, 'inbox caught up');
    }
    const texts = w.last().messages.map((m) => m.text);
    const expected = ['before', 'live 1'];
    for (let r = 0; r < 3; r++) for (let i = 0; i < 5; i++) expected.push(`gap ${r}.${i}`);
    assert.deepEqual(texts, expected, 'nothing lost, nothing doubled, in order');
    sub.unsubscribe();
    ib.unsubscribe();
  } finally {
    await proxy.close();
  }
});
