// Browser-test helpers: Debian's Chromium driven by playwright-core (never a downloaded
// browser), and the example app (examples/embed) started against the test's Huddle.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO, APP_ID, SECRET, freePort } from '../test/harness.mjs';

const CHROMIUM = process.env.HUDDLE_CHROMIUM || '/usr/bin/chromium';

/** A fresh Chromium profile in a temp dir; `close()` removes it. */
export async function startBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'huddle-sdk-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1000, height: 640 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

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
