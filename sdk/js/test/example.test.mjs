// Smoke test of examples/embed: it serves its page (which loads the SDK from Huddle), and its
// backend signs tokens Huddle accepts for exactly the user asked for.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getSession, InvalidTokenError } from '../dist/huddle.mjs';
import { startHuddle, backend, APP_ID } from './harness.mjs';
import { startExample } from '../e2e/browser.mjs';

let huddle;
let example;

before(async () => {
  huddle = await startHuddle('example');
  example = await startExample(huddle.base);
});
after(async () => {
  await example?.stop();
  await huddle?.stop();
});

test('the example serves its page and signs tokens Huddle accepts', async () => {
  const page = await (await fetch(`${example.base}/`)).text();
  assert.ok(page.includes(`<script src="${huddle.base}/sdk/huddle.js"></script>`), page);
  assert.ok(page.includes(`content="${APP_ID}"`));
  const sdk = await fetch(`${huddle.base}/sdk/huddle.js`);
  assert.equal(sdk.status, 200);
  assert.equal((await fetch(`${example.base}/app.js`)).status, 200);

  const { token } = await (await fetch(`${example.base}/token?userId=zoe`)).json();
  // The backend created the user and the token signs in as her, and only as her.
  assert.equal((await backend(huddle.base, 'GET', 'users/zoe')).name, 'Zoe');
  const s = await getSession({ url: huddle.base, appId: APP_ID, userId: 'zoe', token });
  assert.equal((await s.me()).user.id, 'zoe');
  s.destroy();
  await assert.rejects(getSession({ url: huddle.base, appId: APP_ID, userId: 'yann', token }), InvalidTokenError);

  const bad = await fetch(`${example.base}/token?userId=${encodeURIComponent('<script>')}`);
  assert.equal(bad.status, 400);
});
