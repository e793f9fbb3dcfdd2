// The native event socket (`/v1/{appId}/realtime`, docs/REALTIME-NATIVE.md): one WebSocket per
// session, many subscriptions over it. After a drop it reconnects with backoff and subscribes
// again with `since` = the last event id a conversation subscription saw, so the server replays
// exactly what was missed (on whichever node it reaches); ids already seen are skipped, so
// nothing is lost or doubled. Ids grow per conversation only, so they are tracked per
// conversation. When the server cannot replay (`resync`, and always for the inbox), the
// subscription reloads through REST.

import { errorFrom, HuddleError } from './errors.js';
import type { Auth } from './auth.js';

export interface EventFrame {
  conversation: string;
  eventId: number;
  event: string;
  data: any;
}

export interface SubHandlers {
  onEvent(e: EventFrame): void;
  /** The server could not replay what was missed: reload from REST. */
  onResync(): void;
  /** The subscription ended on the server's side (removed, access-none, guest-access-off...). */
  onRevoked(reason: string): void;
  /** A (re)subscription was refused. */
  onError(e: HuddleError): void;
  /** Someone else started or stopped typing in the subscribed conversation. */
  onTyping?(userId: string, typing: boolean): void;
}

interface Sub {
  id: string;
  target: { conversation: string; asGuest: boolean } | { inbox: true };
  /** The last event id seen, per conversation (ids grow within a conversation only). */
  seen: Map<string, number>;
  /** Set when re-subscribing after a drop with no event seen yet: nothing to resume from. */
  reload?: boolean;
  handlers: SubHandlers;
  ready?: { resolve(): void; reject(e: HuddleError): void };
}

const MAX_BACKOFF = 5_000;
const PING_EVERY = 15_000;

export class Realtime {
  private ws?: WebSocket;
  private subs = new Map<string, Sub>();
  private seq = 0;
  private backoff = 250;
  private pingTimer?: ReturnType<typeof setInterval>;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private closed = false;
  private open = false;
  /** Connection state changes, for UIs that show "reconnecting". */
  onState?: (state: 'connecting' | 'open' | 'reconnecting' | 'closed') => void;

  constructor(private readonly base: string, private readonly appId: string, private readonly auth: Auth) {}

  /** Subscribes; resolves on `ready`, rejects with the typed error the server answered. */
  subscribe(target: Sub['target'], handlers: SubHandlers): { id: string; ready: Promise<void>; close(): void } {
    const id = `s${++this.seq}`;
    const sub: Sub = { id, target, seen: new Map(), handlers };
    const ready = new Promise<void>((resolve, reject) => { sub.ready = { resolve, reject }; });
    ready.catch(() => undefined);
    this.subs.set(id, sub);
    if (this.open) this.sendSubscribe(sub);
    else this.connect();
    return {
      id,
      ready,
      close: () => {
        if (!this.subs.delete(id)) return;
        if (this.open) this.send({ type: 'unsubscribe', id });
        if (this.subs.size === 0) this.disconnect();
      },
    };
  }

  /**
   * Tells the conversation's other subscribers that this user types (best effort: dropped while
   * the socket is not open; typing is transient). A refusal is ignored.
   */
  typing(conversation: string, typing: boolean, asGuest: boolean): void {
    this.send({ type: 'typing', id: `t${++this.seq}`, conversation, typing, asGuest });
  }

  /** Drops the connection as if the network failed (tests and "reconnect now" buttons). */
  reconnectNow(): void {
    this.ws?.close();
  }

  destroy(): void {
    this.closed = true;
    this.disconnect();
    this.subs.clear();
    this.onState?.('closed');
  }

  private disconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.pingTimer) clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = undefined;
    this.open = false;
    if (ws) {
      ws.onclose = null;
      ws.close();
    }
  }

  private async connect(): Promise<void> {
    if (this.ws || this.closed || this.reconnectTimer) return;
    this.onState?.('connecting');
    const url = `${this.base.replace(/^http/, 'ws')}/v1/${encodeURIComponent(this.appId)}/realtime?${await this.auth.query()}`;
    if (this.ws || this.closed || this.subs.size === 0) return;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (m) => this.frame(m.data);
    ws.onclose = () => this.dropped(ws);
    ws.onerror = () => undefined;
  }

  private dropped(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.open = false;
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.closed || this.subs.size === 0) return;
    this.onState?.('reconnecting');
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, wait);
  }

  private send(frame: Record<string, unknown>): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify({ v: 1, ...frame }));
  }

  private sendSubscribe(sub: Sub): void {
    const t = sub.target;
    const since = this.resumeFrom(sub);
    this.send({
      type: 'subscribe',
      id: sub.id,
      ...('inbox' in t ? { inbox: true } : { conversation: t.conversation, asGuest: t.asGuest }),
      ...(since !== undefined ? { since } : {}),
    });
  }

  /** Where a re-subscription resumes: a conversation's last id seen; the inbox cannot resume. */
  private resumeFrom(sub: Sub): number | undefined {
    const t = sub.target;
    return 'inbox' in t ? undefined : sub.seen.get(t.conversation);
  }

  private frame(raw: unknown): void {
    let f: any;
    try { f = JSON.parse(String(raw)); } catch { return; }
    switch (f.type) {
      case 'welcome':
        this.open = true;
        this.backoff = 250;
        this.onState?.('open');
        this.pingTimer = setInterval(() => this.send({ type: 'ping', id: 'p' }), PING_EVERY);
        for (const sub of this.subs.values()) {
          if (!sub.ready && this.resumeFrom(sub) === undefined) sub.reload = true;
          this.sendSubscribe(sub);
        }
        return;
      case 'ready': {
        const sub = this.subs.get(f.id);
        if (!sub) return;
        sub.ready?.resolve();
        sub.ready = undefined;
        if (sub.reload) {
          sub.reload = false;
          sub.handlers.onResync();
        }
        return;
      }
      case 'event':
        for (const sub of this.subs.values()) {
          const t = sub.target;
          if (!('inbox' in t) && t.conversation !== f.conversation) continue;
          // Ids only grow within a conversation: one already seen is a replay overlap.
          const last = sub.seen.get(f.conversation);
          if (last !== undefined && f.eventId <= last) continue;
          sub.seen.set(f.conversation, f.eventId);
          sub.handlers.onEvent(f as EventFrame);
        }
        return;
      case 'typing':
        for (const sub of this.subs.values()) {
          const t = sub.target;
          if (!('inbox' in t) && t.conversation === f.conversation) sub.handlers.onTyping?.(String(f.userId), !!f.typing);
        }
        return;
      case 'resync':
        this.subs.get(f.id)?.handlers.onResync();
        return;
      case 'revoked': {
        const sub = this.subs.get(f.sub);
        if (!sub) return;
        this.subs.delete(f.sub);
        sub.handlers.onRevoked(String(f.reason));
        return;
      }
      case 'error': {
        const e = errorFrom(0, f.code, f.reason);
        if (f.id == null) {
          // Authentication failed: every subscription learns it, and no reconnect loop.
          if (f.code === 'UNAUTHENTICATED' && this.auth.canRefresh()) {
            this.auth.refresh().then(() => this.ws?.close(), () => this.failAll(e));
            return;
          }
          this.failAll(e);
          return;
        }
        const sub = this.subs.get(f.id);
        if (!sub) return;
        this.subs.delete(f.id);
        if (sub.ready) sub.ready.reject(e);
        else sub.handlers.onError(e);
        return;
      }
      default:
    }
  }

  private failAll(e: HuddleError): void {
    const subs = [...this.subs.values()];
    this.subs.clear();
    this.disconnect();
    for (const sub of subs) {
      if (sub.ready) sub.ready.reject(e);
      else sub.handlers.onError(e);
    }
  }
}
