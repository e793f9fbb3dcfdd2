// A minimal app embedding Huddle's chat box: serves the page and, as the app's backend, signs
// user tokens (HS256 JWT) with the app's secret key. Node only, no dependencies.
//
//   HUDDLE_URL=http://127.0.0.1:3000 HUDDLE_APP_ID=my-app HUDDLE_APP_SECRET=sk_... node server.mjs
//
// Then open http://127.0.0.1:8080/?user=alice (and ?user=bob in another window).
// Demo only: this backend signs a token for whoever asks. A real backend signs a token only for
// the user signed in to the app (from its own session cookie), never from a query parameter.

import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const HUDDLE_URL = (process.env.HUDDLE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const APP_ID = process.env.HUDDLE_APP_ID || '';
const SECRET = process.env.HUDDLE_APP_SECRET || '';
const PORT = Number(process.env.PORT ?? 8080);

if (!APP_ID || !SECRET) {
  console.error('set HUDDLE_APP_ID and HUDDLE_APP_SECRET (the app id and secret key huddle serve was started with)');
  process.exit(2);
}

const b64url = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A user token as Huddle expects it: iss = app id, sub = user id, tokenType "user". */
export function signUserToken(userId, secret = SECRET, appId = APP_ID, ttlSeconds = 3600) {
  const head = b64url({ alg: 'HS256', typ: 'JWT' });
  const body = b64url({ tokenType: 'user', iss: appId, sub: userId, exp: Math.floor(Date.now() / 1000) + ttlSeconds });
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Creates the user in Huddle from the backend (works whatever the browser-sync settings). */
async function ensureUser(userId) {
  const url = `${HUDDLE_URL}/v1/${encodeURIComponent(APP_ID)}/users/${encodeURIComponent(userId)}`;
  const auth = { Authorization: `Bearer ${SECRET}` };
  const got = await fetch(url, { headers: auth });
  if (got.status === 404) {
    const name = userId.charAt(0).toUpperCase() + userId.slice(1);
    const put = await fetch(url, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ name }) });
    if (!put.ok) throw new Error(`creating ${userId}: ${put.status}`);
  } else if (!got.ok) {
    throw new Error(`looking up ${userId}: ${got.status}`);
  }
}

const page = readFileSync(join(HERE, 'index.html'), 'utf8')
  .replaceAll('{{HUDDLE_URL}}', HUDDLE_URL.replace(/[<>"&']/g, ''))
  .replaceAll('{{APP_ID}}', APP_ID.replace(/[<>"&']/g, ''));
const script = readFileSync(join(HERE, 'app.js'), 'utf8');

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  try {
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
    } else if (url.pathname === '/app.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(script);
    } else if (url.pathname === '/token') {
      const userId = url.searchParams.get('userId') || '';
      if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(userId)) {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'bad userId' }));
        return;
      }
      await ensureUser(userId);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
        .end(JSON.stringify({ token: signUserToken(userId) }));
    } else {
      res.writeHead(404).end('not found');
    }
  } catch (e) {
    res.writeHead(502, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: String(e.message || e) }));
  }
});

server.listen(PORT, '127.0.0.1', () => {
  console.log(`example app on http://127.0.0.1:${server.address().port}/?user=alice (Huddle at ${HUDDLE_URL})`);
});
