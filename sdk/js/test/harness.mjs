// Test harness for the SDK: a real `huddle serve` on a free 127.0.0.1 port with a fresh
// database (a temp SQLite file, or a fresh PostgreSQL database when HUDDLE_TEST_POSTGRES_URL is
// set, dropped afterwards), user tokens signed here as an app backend would, and a TCP proxy a
// test can cut to drop every connection through it.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { randomBytes, createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '../../..');
export const APP_ID = 'sdk-app';
export const SECRET = `sk_test_${randomBytes(12).toString('hex')}`;
export const ADMIN = 'admin';
export const ADMIN_PASSWORD = `pw-${randomBytes(9).toString('hex')}`;

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

/** Starts the server; `stop()` ends it and removes its database. */
export async function startHuddle(label = 'sdk') {
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
      HUDDLE_ADMIN_USERNAME: ADMIN,
      HUDDLE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      HUDDLE_ADMIN_EMAIL: 'admin@example.com',
      HUDDLE_APP_ID: APP_ID,
      HUDDLE_APP_SECRET: SECRET,
      HUDDLE_LOGIN_RATE_PER_MINUTE: '0',
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

const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A user token as an app backend signs it (HS256, iss = app id, sub = user id). */
export function userToken(userId, { expiresIn = 3600, secret = SECRET, appId = APP_ID } = {}) {
  const head = b64url({ alg: 'HS256', typ: 'JWT' });
  const body = b64url({ tokenType: 'user', iss: appId, sub: userId, exp: Math.floor(Date.now() / 1000) + expiresIn });
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** The older scheme: hex HMAC-SHA256 of the user id. */
export const signature = (userId) => createHmac('sha256', SECRET).update(userId).digest('hex');

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

/** The backend API with the secret key; fails the test on an error status. */
export async function backend(base, method, path, body) {
  const r = await call(base, method, `/v1/${APP_ID}/${path}`, { body, headers: { Authorization: `Bearer ${SECRET}` } });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Waits (bounded polling, not a timed assertion) until `check()` returns a truthy value. */
export async function until(check, what = 'condition') {
  for (let i = 0; i < 400; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/**
 * A TCP proxy to `port`. `cut()` destroys every open connection (as a network failure would);
 * new connections are accepted again at once, so a client's reconnect goes through.
 */
export async function tcpProxy(port) {
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  let held = false;
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    /** Drops every connection; with `hold`, refuses new ones until `release()`. */
    cut({ hold = false } = {}) {
      held = hold;
      if (hold) server.on('connection', (s) => held && s.destroy());
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    release() { held = false; },
    close: () => new Promise((ok) => { for (const s of sockets) s.destroy(); server.close(ok); }),
  };
}
