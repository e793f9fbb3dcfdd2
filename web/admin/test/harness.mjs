// Test harness of the dashboard: a real `huddle serve` with a fresh database and Debian's
// Chromium driven by playwright-core (web/testkit/huddle.mjs, shared with the SDK's tests), and
// the API calls the tests check the dashboard's changes with.

import { randomBytes, createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';
import * as kit from '../../testkit/huddle.mjs';

export { REPO, call } from '../../testkit/huddle.mjs';
export const APP_ID = 'dash-app';
export const SECRET = `sk_test_${randomBytes(12).toString('hex')}`;
export const ADMIN = 'admin';
export const ADMIN_PASSWORD = `pw-${randomBytes(9).toString('hex')}`;

/** Starts the server; `stop()` ends it and removes its database. */
export const startHuddle = () =>
  kit.startHuddle({ label: 'admin', appId: APP_ID, secret: SECRET, admin: ADMIN, adminPassword: ADMIN_PASSWORD });

/** A fresh Chromium profile in a temp dir; `close()` removes it. */
export const startBrowser = () => kit.startChromium(chromium, { label: 'admin', viewport: { width: 1100, height: 800 } });

/** The backend API with the secret key. */
export const backend = (base, method, path, body) =>
  kit.call(base, method, `/v1/${APP_ID}/${path}`, { body, headers: { Authorization: `Bearer ${SECRET}` } });

/** A browser-API request as `userId`, signed with the secret key as an app backend would. */
export const browserCall = (base, userId, method, path, body) =>
  kit.call(base, method, `/v1/${APP_ID}/client/${path}`, {
    body,
    headers: { 'X-Huddle-User-Id': userId, 'X-Huddle-Signature': createHmac('sha256', SECRET).update(userId).digest('hex') },
  });

/** A browser-API request naming `userId` with no proof: accepted only while identity verification is off. */
export const bareBrowserCall = (base, userId, method, path, body) =>
  kit.call(base, method, `/v1/${APP_ID}/client/${path}`, { body, headers: { 'X-Huddle-User-Id': userId } });

/** A Rocket.Chat REST call. */
export const rc = (base, method, path, body, session) =>
  kit.call(base, method, `/api/v1/${path}`, {
    body,
    headers: session ? { 'X-User-Id': session.userId, 'X-Auth-Token': session.authToken } : {},
  });
