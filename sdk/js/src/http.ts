// HTTP to the browser API (`/v1/{appId}/client/...`) with the session's credentials. A 401 with
// a token fetcher gets one fresh token and one retry; every failure becomes a typed error.

import { errorFrom, NetworkError, HuddleError } from './errors.js';
import type { Auth } from './auth.js';

export class Http {
  constructor(private readonly base: string, private readonly appId: string, private readonly auth: Auth) {}

  async call<T>(method: string, path: string, body?: unknown, query?: Record<string, string | undefined>): Promise<T> {
    let retried = false;
    for (;;) {
      const res = await this.once(method, path, body, query);
      if (res.ok) {
        const text = await res.text();
        return (text ? JSON.parse(text) : {}) as T;
      }
      let parsed: { errorCode?: string; reason?: string } = {};
      try { parsed = await res.json(); } catch { /* not JSON: keep the status */ }
      if (res.status === 401 && !retried && this.auth.canRefresh()) {
        retried = true;
        await this.auth.refresh();
        continue;
      }
      throw errorFrom(res.status, parsed.errorCode, parsed.reason);
    }
  }

  private async once(method: string, path: string, body: unknown, query?: Record<string, string | undefined>): Promise<Response> {
    const qs = query
      ? Object.entries(query).filter(([, v]) => v !== undefined && v !== '')
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v as string)}`).join('&')
      : '';
    const url = `${this.base}/v1/${encodeURIComponent(this.appId)}/client/${path}${qs ? `?${qs}` : ''}`;
    const headers: Record<string, string> = { ...(await this.auth.headers()) };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      return await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new NetworkError('NETWORK', `Huddle is unreachable: ${(e as Error).message}`);
    }
  }
}

/** A path segment, escaped. */
export const seg = (s: string) => encodeURIComponent(s);

export function isError(e: unknown): e is HuddleError {
  return e instanceof HuddleError;
}
