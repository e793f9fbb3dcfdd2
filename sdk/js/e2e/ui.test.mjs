// The chat UI in a real browser: history loading, read-only for `Read`, cleared at once on
// access None, keyboard use, theming through CSS variables, and the time from `select` to the
// first message painted for a conversation of 10,000 messages (printed, not asserted: speed is
// a figure, not a pass/fail condition).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backend } from '../test/harness.mjs';
import { startStack, openAs, chat, messageIn } from './browser.mjs';

let huddle;
let example;
let browser;
let stack;

before(async () => {
  stack = await startStack('ui');
  ({ huddle, example, browser } = stack);
});

after(async () => {
  await stack?.stop();
});


/**
 * Posts `count` messages from `sender`: all but the last ten per request (the API's batch limit),
 * 8 requests at a time, then the last one alone once every batch has answered. Concurrent
 * batches commit in whatever order the server takes them, so only the last message's place is
 * known: it is the newest, the one a test may wait for.
 */
async function post(cid, sender, count, prefix = 'm') {
  const message = (n) => ({ text: `${prefix}${n}`, sender, type: 'UserMessage' });
  const batches = [];
  for (let i = 0; i < count - 1; i += 10) {
    batches.push(Array.from({ length: Math.min(10, count - 1 - i) }, (_, j) => message(i + j + 1)));
  }
  for (let i = 0; i < batches.length; i += 8) {
    await Promise.all(batches.slice(i, i + 8).map((b) => backend(huddle.base, 'POST', `conversations/${cid}/messages`, b)));
  }
  await backend(huddle.base, 'POST', `conversations/${cid}/messages`, [message(count)]);
}

test('history loads on demand; Read is read-only and ReadWrite brings the composer back live', async () => {
  await backend(huddle.base, 'PUT', 'users/dora', { name: 'Dora' });
  await backend(huddle.base, 'PUT', 'users/eve', { name: 'Eve' });
  await backend(huddle.base, 'PUT', 'conversations/history', { subject: 'History', participants: ['dora'] });
  for (let i = 1; i <= 45; i++) await backend(huddle.base, 'POST', 'conversations/history/messages', [{ text: `h${i}`, sender: 'dora', type: 'UserMessage' }]);
  await backend(huddle.base, 'PUT', 'conversations/history/participants/eve', { access: 'Read' });

  const page = await openAs(browser.context, example.base, 'eve', '&conversation=history');
  await messageIn(page, 'h45').waitFor();
  assert.equal(await messageIn(page, 'h10').count(), 0, 'only the latest window at first');
  await chat(page).getByRole('button', { name: 'Load earlier messages' }).click();
  await messageIn(page, 'h10').waitFor();
  assert.equal(await chat(page).getByRole('button', { name: 'Load earlier messages' }).count(), 0, 'all loaded');

  await chat(page).getByRole('note').filter({ hasText: 'You can read this conversation but not write in it.' }).waitFor();
  assert.equal(await chat(page).getByRole('textbox', { name: 'Message' }).count(), 0, 'no composer for Read');
  await backend(huddle.base, 'PATCH', 'conversations/history/participants/eve', { access: 'ReadWrite' });
  await chat(page).getByRole('textbox', { name: 'Message' }).waitFor();

  // Access None: the box is cleared at once and says so.
  await backend(huddle.base, 'PATCH', 'conversations/history/participants/eve', { access: 'None' });
  await chat(page).getByRole('alert').filter({ hasText: 'You no longer have access to this conversation.' }).waitFor();
  assert.equal(await messageIn(page, 'h45').count(), 0, 'messages gone');
  assert.deepEqual(page.errors, []);
});

test('keyboard only: pick a conversation in the inbox and send with Enter; themable with CSS variables', async () => {
  await backend(huddle.base, 'PUT', 'users/finn', { name: 'Finn' });
  await backend(huddle.base, 'PUT', 'conversations/keys', { subject: 'Keyboard', participants: ['finn'] });
  const page = await openAs(browser.context, example.base, 'finn');
  const option = page.getByRole('listbox', { name: 'Conversations' }).getByRole('option', { name: /Keyboard/ });
  await option.waitFor();
  await option.focus();
  await page.keyboard.press('Enter');
  const box = chat(page).getByRole('textbox', { name: 'Message' });
  await box.waitFor();
  await box.focus();
  await page.keyboard.type('typed, not clicked');
  await page.keyboard.press('Enter');
  await messageIn(page, 'typed, not clicked').waitFor();
  // Shift+Enter is a new line, not a send.
  await box.focus();
  await page.keyboard.type('line one');
  await page.keyboard.press('Shift+Enter');
  assert.equal(await box.inputValue(), 'line one\n');
  // The send button is reachable with Tab from the composer.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.querySelector('huddle-chatbox').shadowRoot.activeElement?.textContent), 'Send');

  // Theming: the example sets --huddle-accent on the element; the Send button uses it.
  const bg = await chat(page).getByRole('button', { name: 'Send' }).evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(bg, 'rgb(109, 40, 217)');
  assert.deepEqual(page.errors, []);
});

// A figure, not a check: measured on the SQLite run only, to keep the PostgreSQL run short.
test('figure: select → first message painted, 10,000 messages', { skip: process.env.HUDDLE_TEST_POSTGRES_URL ? 'measured on SQLite only' : false }, async () => {
  await backend(huddle.base, 'PUT', 'users/gus', { name: 'Gus' });
  await backend(huddle.base, 'PUT', 'conversations/big', { subject: 'Big', participants: ['gus'] });
  await post('big', 'gus', 10_000, 'big');
  const page = await openAs(browser.context, example.base, 'gus');
  const times = [];
  for (let i = 0; i < 5; i++) {
    times.push(await page.evaluate(async () => {
      const { chatbox, session } = window.demo;
      await chatbox.select(null);
      const t0 = performance.now();
      await chatbox.select(session.conversation('big'));
      // select resolves once the messages are in the DOM; the next frame is when they are painted.
      await new Promise((r) => requestAnimationFrame(() => r()));
      return performance.now() - t0;
    }));
  }
  await messageIn(page, 'big10000').waitFor();
  times.sort((a, b) => a - b);
  console.log(`# first paint of a 10,000-message conversation (ms): median ${times[2].toFixed(1)}, min ${times[0].toFixed(1)}, max ${times[4].toFixed(1)}`);
  // The box paints a window (the latest 30), not the whole history.
  assert.equal(await chat(page).locator('.msg').count(), 30);
});
