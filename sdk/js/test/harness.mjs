// Test harness for the SDK: a real `huddle serve` with a fresh database (web/testkit, shared
// with the dashboard's tests), user tokens signed here as an app backend would, and a TCP proxy
// a test can cut to drop every connection through it.

import { createServer, connect } from 'node:net';
import { randomBytes, createHmac } from 'node:crypto';
import * as kit from '../../../web/testkit/huddle.mjs';

export { REPO, freePort, call } from '../../../web/testkit/huddle.mjs';
export const APP_ID = 'sdk-app';
export const SECRET = `sk_test_${randomBytes(12).toString('hex')}`;
export const ADMIN = 'admin';
export const ADMIN_PASSWORD = `pw-${randomBytes(9).toString('hex')}`;

/** Starts the server (web/testkit); `stop()` ends it and removes its database. */
export const startHuddle = (label = 'sdk') =>
  kit.startHuddle({ label, appId: APP_ID, secret: SECRET, admin: ADMIN, adminPassword: ADMIN_PASSWORD });

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

/** The backend API with the secret key; fails the test on an error status. */
export async function backend(base, method, path, body) {
  const r = await kit.call(base, method, `/v1/${APP_ID}/${path}`, { body, headers: { Authorization: `Bearer ${SECRET}` } });
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
