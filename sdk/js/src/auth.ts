// Credentials of a session: a user token (JWT, refreshed through `tokenFetcher` before it
// expires), a signature (hex HMAC of the user id), or the bare user id while identity
// verification is off.

import { InvalidTokenError, HuddleError } from './errors.js';

export type TokenFetcher = () => Promise<string>;

export interface Credentials {
  userId: string;
  token?: string;
  signature?: string;
  tokenFetcher?: TokenFetcher;
}

/** How long before `exp` a token is replaced (ms); tokens living under two margins are replaced
 * at 80 % of their life (never at once, which would loop on short-lived tokens). */
const REFRESH_MARGIN = 60_000;

/** The claims of a JWT (not verified: the server does that), or null when malformed. */
function claims(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
    return json && typeof json === 'object' ? json : null;
  } catch {
    return null;
  }
}

/** The `exp` claim of a JWT in ms, or null (malformed or none). */
export function tokenExpiry(token: string): number | null {
  const exp = claims(token)?.exp;
  return typeof exp === 'number' ? exp * 1000 : null;
}

export class Auth {
  private token?: string;
  private pending?: Promise<string>;
  private timer?: ReturnType<typeof setTimeout>;
  private destroyed = false;
  /** Called with every new token (the socket reconnects with it next time). */
  onToken?: (token: string) => void;
  /** Called when a scheduled refresh fails (the next request retries). */
  onRefreshError?: (e: HuddleError) => void;

  constructor(readonly creds: Credentials) {
    if (creds.token) this.check(creds.token);
    this.token = creds.token;
  }

  /** A token for another user would silently sign in as them: refuse it here. */
  private check(token: string): void {
    const sub = claims(token)?.sub;
    if (typeof sub === 'string' && sub !== this.creds.userId) {
      throw new InvalidTokenError('TOKEN_USER_MISMATCH', `The token is for user ${sub}, not ${this.creds.userId}`);
    }
  }

  canRefresh(): boolean {
    return !!this.creds.tokenFetcher && !this.destroyed;
  }

  async start(): Promise<void> {
    if (!this.token && this.creds.tokenFetcher) await this.refresh();
    this.schedule();
  }

  /** Fetches a new token (one fetch at a time, shared by concurrent callers). */
  refresh(): Promise<string> {
    const fetcher = this.creds.tokenFetcher;
    if (!fetcher) return Promise.reject(new InvalidTokenError('UNAUTHENTICATED', 'No tokenFetcher to renew the token'));
    if (!this.pending) {
      this.pending = fetcher()
        .then((t) => {
          if (typeof t !== 'string' || !t) throw new InvalidTokenError('INVALID_TOKEN', 'tokenFetcher returned no token');
          this.setToken(t);
          return t;
        })
        .catch((e) => {
          throw e instanceof HuddleError ? e : new InvalidTokenError('TOKEN_FETCH_FAILED', `tokenFetcher failed: ${(e as Error)?.message ?? e}`);
        })
        .finally(() => { this.pending = undefined; });
    }
    return this.pending;
  }

  /** Replaces the token (also public on the session, for apps that push tokens themselves). */
  setToken(token: string): void {
    this.check(token);
    this.token = token;
    this.schedule();
    this.onToken?.(token);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.token || !this.creds.tokenFetcher || this.destroyed) return;
    const exp = tokenExpiry(this.token);
    if (exp === null) return;
    const left = exp - Date.now();
    const wait = Math.max(0, left > 2 * REFRESH_MARGIN ? left - REFRESH_MARGIN : left * 0.8);
    // setTimeout takes at most 2^31-1 ms; longer tokens are rescheduled when that fires.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (tokenExpiry(this.token ?? '') !== exp) return;
      if (wait > 0x7fffffff) return this.schedule();
      this.refresh().catch((e) => this.onRefreshError?.(e));
    }, Math.min(wait, 0x7fffffff));
  }

  async headers(): Promise<Record<string, string>> {
    if (this.pending) await this.pending.catch(() => undefined);
    if (this.token) return { Authorization: `Bearer ${this.token}` };
    const h: Record<string, string> = { 'X-Huddle-User-Id': this.creds.userId };
    if (this.creds.signature) h['X-Huddle-Signature'] = this.creds.signature;
    return h;
  }

  /** Query parameters for the WebSocket (browsers cannot set its headers). */
  async query(): Promise<string> {
    if (this.pending) await this.pending.catch(() => undefined);
    if (this.token) return `token=${encodeURIComponent(this.token)}`;
    let q = `userId=${encodeURIComponent(this.creds.userId)}`;
    if (this.creds.signature) q += `&signature=${encodeURIComponent(this.creds.signature)}`;
    return q;
  }

  destroy(): void {
    this.destroyed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
