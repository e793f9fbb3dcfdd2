// `session.conversation(id)`: the conversation, its participants and messages, for a participant
// or (with `asGuest`) a guest. Writes to the conversation and its participants need browser
// conversation sync; sending, reading and `markAsRead` do not.

import { NotFoundError, HuddleError } from './errors.js';
import { Http, seg } from './http.js';
import type { Realtime, EventFrame } from './socket.js';
import type { Conversation, ConversationAttributes, Message, Participant, ParticipantAttributes } from './types.js';
import type { Subscription } from './user.js';

export interface ConversationOptions {
  /** Enter as a guest when not a participant (no effect for a participant). */
  asGuest?: boolean;
}

export interface SendOptions {
  custom?: Record<string, string>;
  /** Repeating a send with the same key posts the message once. */
  idempotencyKey?: string;
}

/** Why a live view ended: the server's revoke reason, or `not-found` when it never started. */
export type EndReason = 'removed' | 'access-none' | 'guest-access-off' | 'conversation-deleted' | 'logged-out' | string;

export interface MessageWindow {
  /** Oldest first. */
  messages: Message[];
  /** True once the first message of the conversation is loaded. */
  loadedAll: boolean;
}

export interface MessagesSubscription extends Subscription {
  /** Loads `count` older messages into the window; resolves when they are in. */
  loadMore(count?: number): Promise<void>;
  /** Resolves once the subscription is live (rejects with a typed error if refused). */
  ready: Promise<void>;
}

export interface LiveOptions extends ConversationOptions {
  /** Called once when access ends (kicked, access None, guests switched off, deleted). */
  onEnd?: (reason: EndReason, error?: HuddleError) => void;
}

export class ParticipantRef {
  constructor(private readonly conv: ConversationRef, readonly userId: string) {}

  private get path() {
    return `conversations/${seg(this.conv.id)}/participants/${seg(this.userId)}`;
  }

  /** The participation, or null when the user is not a participant. */
  async get(): Promise<Participant | null> {
    const c = await this.conv.get();
    return c?.participants?.[this.userId] ?? null;
  }

  /** Adds the user or replaces their access/notify (`setParticipant`). */
  async set(attrs: ParticipantAttributes = {}): Promise<void> {
    await this.conv.http.call('PUT', this.path, attrs);
  }

  /** Changes access/notify of an existing participant. */
  async edit(attrs: ParticipantAttributes): Promise<void> {
    await this.conv.http.call('PATCH', this.path, attrs);
  }

  /** Adds the user when not yet a participant; an existing participation is left as it is. */
  async createIfNotExists(attrs: ParticipantAttributes = {}): Promise<void> {
    if ((await this.get()) === null) await this.set(attrs);
  }

  async delete(): Promise<void> {
    await this.conv.http.call('DELETE', this.path);
  }
}

export class ConversationRef {
  constructor(readonly http: Http, private readonly rt: Realtime, readonly id: string, private readonly me: string) {}

  private get path() {
    return `conversations/${seg(this.id)}`;
  }

  /** The conversation, or null when the user may not see it (not a participant, no guest entry). */
  async get(opts: ConversationOptions = {}): Promise<Conversation | null> {
    try {
      return await this.http.call<Conversation>('GET', this.path, undefined, guest(opts));
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  }

  /** Creates or updates the conversation; the current user becomes a participant. */
  async set(attrs: ConversationAttributes = {}): Promise<void> {
    await this.http.call('PUT', this.path, attrs);
  }

  /** Creates the conversation (with the current user in it) when it does not exist for them. */
  async createIfNotExists(attrs: ConversationAttributes = {}): Promise<void> {
    if ((await this.get()) === null) await this.set(attrs);
  }

  participant(userId: string): ParticipantRef {
    return new ParticipantRef(this, userId);
  }

  /** The seed's spelling of `participant(userId).set(attrs)`. */
  setParticipant(userId: string, attrs: ParticipantAttributes = {}): Promise<void> {
    return this.participant(userId).set(attrs);
  }

  /** The current user stops being a participant. */
  leave(): Promise<void> {
    return this.participant(this.me).delete();
  }

  async send(text: string, opts: SendOptions & ConversationOptions = {}): Promise<Message> {
    const body: Record<string, unknown> = { text };
    if (opts.custom) body.custom = opts.custom;
    if (opts.idempotencyKey) body.idempotencyKey = opts.idempotencyKey;
    return this.http.call<Message>('POST', `${this.path}/messages`, body, guest(opts));
  }

  async markAsRead(): Promise<void> {
    await this.http.call('POST', `${this.path}/read`);
  }

  /** A page of messages, newest first, older than `startingAfter`. */
  async messages(opts: ConversationOptions & { limit?: number; startingAfter?: string } = {}): Promise<Message[]> {
    const r = await this.http.call<{ data: Message[] }>('GET', `${this.path}/messages`, undefined, {
      ...guest(opts),
      limit: String(opts.limit ?? 30),
      startingAfter: opts.startingAfter,
    });
    return r.data;
  }

  /** The conversation now and after every change; null once the user may no longer see it. */
  subscribe(onChange: (c: Conversation | null) => void, opts: LiveOptions = {}): Subscription & { ready: Promise<void> } {
    let current: Conversation | null = null;
    const reload = async () => {
      current = await this.get(opts);
      if (live) onChange(current);
    };
    let live = true;
    const sub = this.live(opts, {
      event: (e) => {
        if (!current) return;
        if (e.event === 'conversation.updated') current = { ...current, ...e.data, participants: current.participants, lastMessage: current.lastMessage };
        else if (e.event === 'message.created') current = { ...current, lastMessage: e.data };
        else if (e.event.startsWith('participant.')) current = { ...current, participants: applyParticipant(current.participants ?? {}, e) };
        else if (e.event === 'guestAccess.changed') current = { ...current, guestAccess: e.data.guestAccess };
        else return;
        onChange(current);
      },
      reload,
      end: () => { current = null; onChange(null); },
    });
    const ready = sub.ready.then(reload);
    ready.catch(() => undefined);
    return { ready, unsubscribe: () => { live = false; sub.close(); } };
  }

  /** The participants (id → participation) now and after every change. */
  subscribeParticipants(onChange: (p: Record<string, Participant>) => void, opts: LiveOptions = {}): Subscription & { ready: Promise<void> } {
    return this.subscribe((c) => onChange(c?.participants ?? {}), opts);
  }

  /**
   * A window of the latest `limit` messages (oldest first), kept up to date live; `loadMore`
   * extends it into the past. Messages arrive once each, also across reconnects.
   */
  subscribeMessages(onChange: (w: MessageWindow) => void, opts: LiveOptions & { limit?: number } = {}): MessagesSubscription {
    const limit = Math.min(Math.max(opts.limit ?? 30, 1), 100);
    let messages: Message[] = [];
    let loadedAll = false;
    let live = true;
    let loading: Promise<void> | null = null;
    const emit = () => live && onChange({ messages: messages.slice(), loadedAll });
    const load = async () => {
      const page = await this.messages({ ...opts, limit });
      // A reload keeps what was loaded further back only if it still joins up with the page.
      messages = page.reverse();
      loadedAll = page.length < limit;
      emit();
    };
    const sub = this.live(opts, {
      event: (e) => {
        if (e.event === 'message.created') {
          if (!messages.some((m) => m.id === e.data.id)) messages.push(e.data);
        } else if (e.event === 'message.updated') {
          messages = messages.map((m) => (m.id === e.data.id ? e.data : m));
        } else if (e.event === 'message.deleted') {
          messages = messages.filter((m) => m.id !== e.data.id);
        } else return;
        emit();
      },
      reload: load,
      end: () => { messages = []; loadedAll = true; emit(); },
    });
    const ready = sub.ready.then(load);
    ready.catch(() => undefined);
    return {
      ready,
      loadMore: (count = limit) => {
        if (loading) return loading;
        if (loadedAll || messages.length === 0) return Promise.resolve();
        const n = Math.min(Math.max(count, 1), 100);
        loading = this.messages({ ...opts, limit: n, startingAfter: messages[0].id })
          .then((older) => {
            const seen = new Set(messages.map((m) => m.id));
            messages = [...older.reverse().filter((m) => !seen.has(m.id)), ...messages];
            if (older.length < n) loadedAll = true;
            emit();
          })
          .finally(() => { loading = null; });
        return loading;
      },
      unsubscribe: () => { live = false; sub.close(); },
    };
  }

  /**
   * Who else is typing now (user ids), live. A user counts as typing until they say they
   * stopped or for 6 s after their last notice (a closed tab sends no "stopped").
   */
  subscribeTyping(onChange: (userIds: string[]) => void, opts: LiveOptions = {}): Subscription & { ready: Promise<void> } {
    const typing = new Map<string, ReturnType<typeof setTimeout>>();
    let live = true;
    const emit = () => live && onChange([...typing.keys()]);
    const stop = (uid: string) => {
      clearTimeout(typing.get(uid));
      if (typing.delete(uid)) emit();
    };
    const sub = this.live(opts, {
      event: (e) => {
        // A message from someone ends their typing at once.
        if (e.event === 'message.created' && e.data.senderId) stop(e.data.senderId);
      },
      typing: (uid, on) => {
        if (uid === this.me) return;
        if (!on) return stop(uid);
        const known = typing.has(uid);
        clearTimeout(typing.get(uid));
        typing.set(uid, setTimeout(() => stop(uid), TYPING_TTL));
        if (!known) emit();
      },
      reload: async () => undefined,
      end: () => { for (const uid of [...typing.keys()]) stop(uid); },
    });
    return {
      ready: sub.ready,
      unsubscribe: () => {
        live = false;
        for (const t of typing.values()) clearTimeout(t);
        sub.close();
      },
    };
  }

  /**
   * Says whether the current user is typing here. Call with true on input (at most every few
   * seconds) and false when they stop or send; best effort, needs a live view of the conversation.
   */
  setTyping(typing: boolean, opts: ConversationOptions = {}): void {
    this.rt.typing(this.id, typing, !!opts.asGuest);
  }

  /** One socket subscription with the end of access reported once. */
  private live(opts: LiveOptions, on: { event(e: EventFrame): void; typing?(uid: string, on: boolean): void; reload(): Promise<void>; end(): void }) {
    let ended = false;
    const end = (reason: EndReason, error?: HuddleError) => {
      if (ended) return;
      ended = true;
      on.end();
      opts.onEnd?.(reason, error);
    };
    const sub = this.rt.subscribe({ conversation: this.id, asGuest: !!opts.asGuest }, {
      onEvent: (e) => {
        on.event(e);
        if (e.event === 'conversation.deleted') end('conversation-deleted');
      },
      onResync: () => { on.reload().catch((e) => end('error', e)); },
      onRevoked: (reason) => end(reason),
      onTyping: on.typing,
      onError: (e) => end(e.code === 'GUEST_ACCESS_DISABLED' ? 'guest-access-off' : 'not-found', e),
    });
    sub.ready.catch((e) => end('not-found', e));
    return sub;
  }
}

/** How long a typing notice counts without a repeat (senders repeat every 3 s). */
const TYPING_TTL = 6_000;

function guest(opts: ConversationOptions): Record<string, string | undefined> {
  return { asGuest: opts.asGuest ? 'true' : undefined };
}

function applyParticipant(p: Record<string, Participant>, e: EventFrame): Record<string, Participant> {
  const next = { ...p };
  if (e.event === 'participant.left' || e.data.participant?.access === 'None') delete next[e.data.userId];
  else next[e.data.userId] = e.data.participant;
  return next;
}
