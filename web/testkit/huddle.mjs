// Shared by the JavaScript test suites (web/admin/test, sdk/js): a real `huddle serve` on a free
// 127.0.0.1 port with a fresh database (a temp SQLite file, or a fresh PostgreSQL database when
// HUDDLE_TEST_POSTGRES_URL is set, dropped afterwards), Debian's Chromium in a throwaway profile
// (never a downloaded browser), and JSON over HTTP. No dependencies: each suite passes in its
// own playwright-core.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function huddleBin() {
  if (process.env.HUDDLE_BIN) return process.env.HUDDLE_BIN;
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO, process.env.CARGO_TARGET_DIR) : join(REPO, 'target');
  return join(target, 'debug', 'huddle');
}

/**
 * Starts the server with the given app id, secret key and admin account (`label` names the temp
 * dir and database); `stop()` ends it and removes its database.
 */
export async function startHuddle({ label, appId, secret, admin, adminPassword }) {
  const bin = huddleBin();
  if (!existsSync(bin)) throw new Error(`huddle binary not found at ${bin} (cargo build -p huddle, or set HUDDLE_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), `huddle-${label}-test-`));
  let databaseUrl = `sqlite://${join(dir, 'huddle.db')}`;
  let dropDb = null;
  const pg = process.env.HUDDLE_TEST_POSTGRES_URL;
  if (pg) {
    const name = `huddle_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
    execFileSync('psql', [pg, '-qc', `CREATE DATABASE ${name}`]);
    databaseUrl = `${pg.slice(0, pg.lastIndexOf('/'))}/${name}`;
    dropDb = () => execFileSync('psql', [pg, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let log = '';
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1', '--port', String(port), '--database-url', databaseUrl], {
    env: {
      ...process.env,
      HUDDLE_ADMIN_USERNAME: admin,
      HUDDLE_ADMIN_PASSWORD: adminPassword,
      HUDDLE_ADMIN_EMAIL: 'admin@example.com',
      HUDDLE_APP_ID: appId,
      HUDDLE_APP_SECRET: secret,
      // Seals the app's secret keys in the database; PostgreSQL has no file beside it to keep a
      // generated one in, so the tests give one.
      HUDDLE_SECRETS_KEY: randomBytes(32).toString('hex'),
      HUDDLE_LOGIN_RATE_PER_MINUTE: '0',
      // Tests' webhook receivers listen on 127.0.0.1, which the SSRF guard refuses by default.
      HUDDLE_WEBHOOK_ALLOW_PRIVATE: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  let exited = false;
  child.on('exit', () => { exited = true; });
  // Readiness is polled (a bounded number of tries), never timed as an assertion.
  for (let i = 0; ; i++) {
    if (exited) throw new Error(`huddle exited early:\n${log}`);
    try {
      const r = await fetch(`${base}/api/info`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (i > 300) throw new Error(`huddle did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    log: () => log,
    async stop() {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      if (dropDb) dropDb();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `chromium` is the caller's playwright-core export; `close()` removes the profile. */
export async function startChromium(chromium, { label, viewport }) {
  const profile = mkdtempSync(join(tmpdir(), `huddle-${label}-chromium-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.HUDDLE_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport,
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

/** JSON over HTTP: `{ status, body }`. */
export async function call(base, method, path, { body, headers = {} } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
  return { status: res.status, body: parsed };
}
