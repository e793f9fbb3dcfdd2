// Browser-test helpers: Debian's Chromium driven by playwright-core (never a downloaded
// browser), and the example app (examples/embed) started against the test's Huddle.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startChromium } from '../../../web/testkit/huddle.mjs';
import { REPO, APP_ID, SECRET, freePort, startHuddle } from '../test/harness.mjs';

/** A fresh Chromium profile in a temp dir; `close()` removes it. */
export const startBrowser = () => startChromium(chromium, { label: 'sdk', viewport: { width: 1000, height: 640 } });

/** `node examples/embed/server.mjs` on a free port, pointed at `huddleBase`. */
export async function startExample(huddleBase) {
  const port = await freePort();
  let log = '';
  const child = spawn(process.execPath, [join(REPO, 'examples/embed/server.mjs')], {
    env: { ...process.env, HUDDLE_URL: huddleBase, HUDDLE_APP_ID: APP_ID, HUDDLE_APP_SECRET: SECRET, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(base)).ok) break;
    } catch { /* not yet */ }
    if (i > 200) throw new Error(`example did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base,
    log: () => log,
    async stop() {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/** Opens the example as `user` (query extras appended) and waits until its session is up. */
export async function openAs(context, exampleBase, user, extra = '') {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${exampleBase}/?user=${encodeURIComponent(user)}${extra}`);
  await page.waitForFunction(() => !!window.demo);
  page.errors = errors;
  return page;
}

/** The chat box's region, and a message in its log (by its exact text). */
export const chat = (page) => page.getByRole('region', { name: 'Chat' });
export const messageIn = (page, text) => chat(page).getByRole('log', { name: 'Messages' }).getByText(text, { exact: true });

/** A Huddle, the example app against it and a browser, for one test file; `stop()` ends all. */
export async function startStack(label) {
  const huddle = await startHuddle(label);
  const example = await startExample(huddle.base);
  const browser = await startBrowser();
  return {
    huddle,
    example,
    browser,
    async stop() {
      await browser.close();
      await example.stop();
      await huddle.stop();
    },
  };
}
