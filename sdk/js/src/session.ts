// `getSession(...)`: one signed-in user of one app. Holds the credentials (refreshing tokens
// before they expire), one native socket shared by every live view, and the refs.

import { Auth, type TokenFetcher } from './auth.js';
import { ConversationRef } from './conversation.js';
import { InvalidRequestError, NotFoundError, type HuddleError } from './errors.js';
import { Http, seg } from './http.js';
import { Realtime } from './socket.js';
import type { Conversation, SessionSettings, User } from './types.js';
import { UserRef, type Subscription, type UserListeners } from './user.js';

export interface SessionOptions {
  /** Huddle's base URL, e.g. "https://chat.example.com" (default: this page's origin). */
  url?: string;
  appId: string;
  userId: string;
  /** A user token (HS256 JWT: iss = appId, sub = userId, tokenType "user"). */
  token?: string;
  /** Hex HMAC-SHA256 of the user id with the app's secret key (the older scheme). */
  signature?: string;
  /** Called for the first token when none is given, before a token expires, and after a 401. */
  tokenFetcher?: TokenFetcher;
}

export interface InboxWindow {
  /** Most recently active first. */
  conversations: Conversation[];
  loadedAll: boolean;
}

export interface InboxSubscription extends Subscription {
  loadMore(count?: number): Promise<void>;
  ready: Promise<void>;
}

export class Session {
  readonly appId: string;
  readonly userId: string;
  readonly url: string;
  /** @internal */ readonly http: Http;
  /** @internal */ readonly realtime: Realtime;
  private readonly auth: Auth;
  private readonly userListeners: UserListeners = new Map();
  /** Called when a background token refresh fails. */
  onError?: (e: HuddleError) => void;

  /** @internal use getSession */
  constructor(opts: SessionOptions, auth: Auth) {
    this.appId = opts.appId;
    this.userId = opts.userId;
    this.url = (opts.url ?? globalThis.location?.origin ?? '').replace(/\/+$/, '');
    this.auth = auth;
    auth.onRefreshError = (e) => this.onError?.(e);
    this.http = new Http(this.url, this.appId, auth);
    this.realtime = new Realtime(this.url, this.appId, auth);
  }

  /** The current user. */
  get currentUser(): UserRef {
    return this.user(this.userId);
  }

  user(id: string): UserRef {
    return new UserRef(this.http, id, this.userListeners);
  }

  conversation(id: string): ConversationRef {
    return new ConversationRef(this.http, this.realtime, id, this.userId);
  }

  /** The app's browser settings as this session sees them (sync allowed, guests allowed). */
  async settings(): Promise<SessionSettings> {
    return (await this.http.call<{ settings: SessionSettings }>('GET', 'me')).settings;
  }

  /** Checks the credentials and returns the current user. */
  async me(): Promise<{ user: User; verified: boolean; settings: SessionSettings }> {
    return this.http.call('GET', 'me');
  }

  /** Replaces the token (for apps that renew tokens themselves). */
  setToken(token: string): void {
    this.auth.setToken(token);
  }

  /**
   * The user's conversations, most recently active first, `limit` at a time; kept live: a
   * conversation the user is added to appears, one they leave or lose access to disappears.
   */
  subscribeConversations(onChange: (w: InboxWindow) => void, opts: { limit?: number } = {}): InboxSubscription {
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 100);
    let list: Conversation[] = [];
    let loadedAll = false;
    let live = true;
    let wanted = limit;
    const emit = () => {
      list.sort((a, b) => activity(b) - activity(a));
      if (live) onChange({ conversations: list.slice(), loadedAll });
    };
    const page = (startingAfter?: string, n = limit) =>
      this.http.call<{ data: Conversation[] }>('GET', 'conversations', undefined, { limit: String(n), startingAfter }).then((r) => r.data);
    const reload = async () => {
      const data = await page(undefined, Math.min(wanted, 100));
      list = data;
      loadedAll = data.length < Math.min(wanted, 100);
      emit();
    };
    // Conversations this connection hears of without being their participant (entered as a
    // guest in a chat box on the same session): not looked up again until the user joins one.
    const notMine = new Set<string>();
    const refreshOne = async (cid: string) => {
      const c = await this.conversation(cid).get().catch(() => null);
      const mine = c && c.participants?.[this.userId];
      if (mine) notMine.delete(cid);
      else notMine.add(cid);
      list = list.filter((x) => x.id !== cid);
      if (c && mine) {
        const { participants: _p, ...rest } = c;
        list.push({ ...rest, ...mine, guest: false });
      }
      emit();
    };
    const sub = this.realtime.subscribe({ inbox: true }, {
      onEvent: (e) => {
        const known = list.find((c) => c.id === e.conversation);
        const mineChanged = e.event.startsWith('participant.') && e.data.userId === this.userId;
        if (e.event === 'conversation.deleted' || (mineChanged && (e.event === 'participant.left' || e.data.participant?.access === 'None'))) {
          list = list.filter((c) => c.id !== e.conversation);
          emit();
        } else if (mineChanged || (!known && !notMine.has(e.conversation))) {
          // Unknown: joined, or active beyond the loaded window (it moves to the top).
          refreshOne(e.conversation);
        } else if (e.event === 'message.created') {
          list = list.map((c) => (c.id === e.conversation ? { ...c, lastMessage: e.data, isUnread: e.data.senderId !== this.userId || c.isUnread } : c));
          emit();
        } else if (e.event === 'conversation.updated') {
          list = list.map((c) => (c.id === e.conversation ? { ...c, ...e.data, lastMessage: c.lastMessage } : c));
          emit();
        }
      },
      onResync: () => { reload().catch((e) => this.onError?.(e)); },
      onRevoked: () => { list = []; emit(); },
      onError: (e) => this.onError?.(e),
    });
    const ready = sub.ready.then(reload);
    ready.catch(() => undefined);
    return {
      ready,
      loadMore: async (count = limit) => {
        if (loadedAll || list.length === 0) return;
        const n = Math.min(Math.max(count, 1), 100);
        const more = await page(list[list.length - 1].id, n);
        wanted += n;
        const seen = new Set(list.map((c) => c.id));
        list = [...list, ...more.filter((c) => !seen.has(c.id))];
        loadedAll = more.length < n;
        emit();
      },
      unsubscribe: () => { live = false; sub.close(); },
    };
  }

  /** Ends the session: closes the socket and stops token refreshes. */
  destroy(): void {
    this.auth.destroy();
    this.realtime.destroy();
  }
}

function activity(c: Conversation): number {
  return c.lastMessage?.createdAt ?? c.joinedAt ?? c.createdAt;
}

/** Starts a session; rejects with InvalidTokenError when the credentials are refused. */
export async function getSession(opts: SessionOptions): Promise<Session> {
  if (!opts || !opts.appId || !opts.userId) throw new InvalidRequestError('INVALID_OPTIONS', 'getSession needs appId and userId');
  const auth = new Auth({ userId: opts.userId, token: opts.token, signature: opts.signature, tokenFetcher: opts.tokenFetcher });
  await auth.start();
  const session = new Session(opts, auth);
  try {
    await session.me();
  } catch (e) {
    // Valid credentials for a user not created yet are fine: the app may create it next
    // (`session.currentUser.createIfNotExists`, or from its backend).
    if (!(e instanceof NotFoundError)) {
      session.destroy();
      throw e;
    }
  }
  return session;
}

export { seg };
