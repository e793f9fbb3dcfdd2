// `session.createChatbox()`: a chat box in a custom element with a shadow root. `select` opens a
// conversation (as a participant, or as a guest with `{ asGuest: true }`), `mount` puts it in
// the page. It shows the latest messages (older ones on demand), a composer, the participants
// and a guest badge; `Read` access makes it read-only; when access ends (removed, access None,
// guests switched off) it clears at once and says so.

import type { ConversationRef, EndReason, MessagesSubscription } from '../conversation.js';
import { HuddleError, NotFoundError } from '../errors.js';
import type { Session } from '../session.js';
import type { Access, Conversation, Message } from '../types.js';
import type { Subscription } from '../user.js';
import { h, host } from './dom.js';
import { CSS } from './style.js';

export interface SelectOptions {
  /** Enter as a guest when not a participant (no effect for a participant). */
  asGuest?: boolean;
}

const ENDED: Record<string, string> = {
  removed: 'You were removed from this conversation.',
  'access-none': 'You no longer have access to this conversation.',
  'guest-access-off': 'Guest access to this conversation has been switched off.',
  'conversation-deleted': 'This conversation was deleted.',
  'logged-out': 'You were signed out.',
};

export class Chatbox {
  /** The `<huddle-chatbox>` element (style it, or set --huddle-* CSS variables on it). */
  readonly element: HTMLElement;
  /** Called when access to the selected conversation ends. */
  onEnd?: (reason: EndReason) => void;
  private readonly root: ShadowRoot;
  private readonly box: HTMLElement;
  private conv: ConversationRef | null = null;
  private messagesSub: MessagesSubscription | null = null;
  private convSub: Subscription | null = null;
  private typingSub: Subscription | null = null;
  private typingSentAt = 0;
  private names = new Map<string, string>();
  private generation = 0;
  private asGuest = false;

  constructor(private readonly session: Session) {
    const { el, root } = host('huddle-chatbox', CSS);
    this.element = el;
    this.root = root;
    this.box = h('div', { class: 'box', role: 'region', 'aria-label': 'Chat' });
    root.append(this.box);
    this.showEmpty('No conversation selected.');
  }

  mount(target: Element): void {
    target.append(this.element);
  }

  /**
   * Opens a conversation (a ref or an id; null clears the box). Resolves once its latest
   * messages are painted; rejects with a typed error (e.g. GuestAccessDisabledError,
   * NotFoundError) and shows why when the user may not open it.
   */
  async select(conversation: ConversationRef | string | null, opts: SelectOptions = {}): Promise<void> {
    this.teardown();
    const gen = ++this.generation;
    if (conversation === null) return this.showEmpty('No conversation selected.');
    const conv = typeof conversation === 'string' ? this.session.conversation(conversation) : conversation;
    this.conv = conv;
    this.asGuest = !!opts.asGuest;
    this.showEmpty('Loading…');
    try {
      const c = await conv.get({ asGuest: this.asGuest });
      if (!c) throw new NotFoundError('CONVERSATION_NOT_FOUND', 'Conversation not found');
      if (gen !== this.generation) return;
      this.render(c);
      await this.names_of(Object.keys(c.participants ?? {}));
      if (gen !== this.generation) return;
      this.renderHeader(c);
      await this.live(conv, gen);
    } catch (e) {
      if (gen === this.generation) {
        this.teardown();
        this.showEmpty(e instanceof HuddleError && e.code === 'GUEST_ACCESS_DISABLED'
          ? 'Guest access to this conversation is not allowed.'
          : 'This conversation is not available.', true);
      }
      throw e;
    }
  }

  destroy(): void {
    this.teardown();
    this.element.remove();
  }

  private teardown(): void {
    this.generation++;
    this.messagesSub?.unsubscribe();
    this.convSub?.unsubscribe();
    this.typingSub?.unsubscribe();
    this.messagesSub = null;
    this.convSub = null;
    this.typingSub = null;
    this.conv = null;
  }

  private showEmpty(text: string, alert = false): void {
    this.box.replaceChildren(h('p', { class: 'empty', role: alert ? 'alert' : 'status' }, text));
  }

  private end(reason: EndReason, gen: number): void {
    if (gen !== this.generation) return;
    this.teardown();
    this.box.replaceChildren(h('p', { class: 'empty', role: 'alert' }, ENDED[reason] ?? 'This conversation is no longer available.'));
    this.onEnd?.(reason);
  }

  private header = h('header');
  private log = h('div', { class: 'log', role: 'log', 'aria-label': 'Messages', 'aria-live': 'polite', tabindex: '0' });
  private typingLine = h('div', { class: 'typing', role: 'status', 'aria-live': 'polite' });
  private footer = h('div');
  private access: Access = 'ReadWrite';
  private guest = false;

  private render(c: Conversation): void {
    this.guest = !!c.guest;
    this.access = this.guest ? 'ReadWrite' : c.participants?.[this.session.userId]?.access ?? 'ReadWrite';
    this.log.replaceChildren();
    this.typingLine.textContent = '';
    this.renderHeader(c);
    this.renderFooter();
    this.box.replaceChildren(this.header, this.log, this.typingLine, this.footer);
  }

  private renderHeader(c: Conversation): void {
    const ids = Object.keys(c.participants ?? {});
    const title = c.subject || ids.filter((id) => id !== this.session.userId).map((id) => this.names.get(id) ?? id).join(', ') || c.id;
    this.header.replaceChildren(
      h('h2', {}, title, this.guest ? h('span', { class: 'badge', title: 'You are a guest: not a participant of this conversation' }, 'Guest') : null),
      h('p', { class: 'participants' }, ids.length ? `Participants: ${ids.map((id) => this.names.get(id) ?? id).join(', ')}` : 'No participants'),
    );
  }

  private renderFooter(): void {
    if (this.access !== 'ReadWrite') {
      this.footer.replaceChildren(h('p', { class: 'notice', role: 'note' }, 'You can read this conversation but not write in it.'));
      return;
    }
    const input = h('textarea', { rows: '2', 'aria-label': 'Message', placeholder: 'Write a message…' }) as HTMLTextAreaElement;
    const send = async () => {
      const text = input.value.trim();
      if (!text || !this.conv) return;
      input.value = '';
      this.typed(false);
      try {
        await this.conv.send(text, { asGuest: this.asGuest });
      } catch (e) {
        input.value = text;
        this.notice(e instanceof HuddleError ? e.message : 'Sending failed');
      }
    };
    input.addEventListener('input', () => this.typed(input.value.trim() !== ''));
    input.addEventListener('blur', () => this.typed(false));
    input.addEventListener('keydown', (e: KeyboardEvent) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send();
      }
    });
    const form = h('form', { 'aria-label': 'Send a message', onsubmit: (e: Event) => { e.preventDefault(); send(); } },
      input, h('button', { type: 'submit' }, 'Send'));
    this.footer.replaceChildren(form);
  }

  /** Typing notices: "typing" at most every 3 s while there is text, "stopped" once. */
  private typed(typing: boolean): void {
    if (!this.conv || this.guest) return;
    const now = Date.now();
    if (typing && now - this.typingSentAt < 3_000) return;
    if (!typing && this.typingSentAt === 0) return;
    this.typingSentAt = typing ? now : 0;
    this.conv.setTyping(typing, { asGuest: this.asGuest });
  }

  private typingIds: string[] = [];

  private showTyping(): void {
    const names = this.typingIds.map((id) => this.names.get(id) ?? id);
    this.typingLine.textContent = names.length === 0 ? ''
      : names.length === 1 ? `${names[0]} is typing…`
        : names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : 'Several people are typing…';
  }

  private notice(text: string): void {
    this.footer.querySelector('.error')?.remove();
    this.footer.prepend(h('p', { class: 'notice error', role: 'alert' }, text));
  }

  private live(conv: ConversationRef, gen: number): Promise<void> {
    const onEnd = (reason: EndReason) => this.end(reason, gen);
    let latest: Conversation | null = null;
    this.convSub = conv.subscribe((c) => {
      if (!c || gen !== this.generation) return;
      latest = c;
      const access: Access = this.guest ? 'ReadWrite' : c.participants?.[this.session.userId]?.access ?? 'ReadWrite';
      if (access !== this.access) {
        this.access = access;
        this.renderFooter();
      }
      this.names_of(Object.keys(c.participants ?? {})).then(() => latest && gen === this.generation && this.renderHeader(latest));
    }, { asGuest: this.asGuest, onEnd });
    this.typingSub = conv.subscribeTyping((ids) => {
      if (gen !== this.generation) return;
      this.typingIds = ids;
      this.showTyping();
      this.names_of(ids).then(() => gen === this.generation && this.showTyping());
    }, { asGuest: this.asGuest });
    let first = true;
    let painted!: () => void;
    const done = new Promise<void>((r) => { painted = r; });
    const sub = conv.subscribeMessages((w) => {
      if (gen !== this.generation) return;
      this.paint(w.messages, w.loadedAll, first);
      if (first) {
        first = false;
        painted();
        if (!this.guest) conv.markAsRead().catch(() => undefined);
      }
    }, { asGuest: this.asGuest, onEnd, limit: 30 });
    this.messagesSub = sub;
    return Promise.race([sub.ready.then(() => done), done]);
  }

  private paint(messages: Message[], loadedAll: boolean, first: boolean): void {
    const log = this.log;
    const atBottom = first || log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const fromBottom = log.scrollHeight - log.scrollTop;
    const unknown = messages.map((m) => m.senderId).filter((id): id is string => !!id && !this.names.has(id));
    const items: Node[] = [];
    if (!loadedAll) {
      items.push(h('button', { class: 'more secondary', type: 'button', onclick: () => this.messagesSub?.loadMore() }, 'Load earlier messages'));
    }
    for (const m of messages) {
      const own = m.senderId === this.session.userId;
      if (m.type === 'SystemMessage') {
        items.push(h('div', { class: 'msg system', 'data-id': m.id }, h('span', { class: 'text' }, m.text)));
        continue;
      }
      items.push(h('div', { class: own ? 'msg own' : 'msg', 'data-id': m.id },
        h('span', { class: 'who', 'data-sender': m.senderId ?? undefined }, own ? 'You' : m.senderId ? this.names.get(m.senderId) ?? m.senderId : 'System'),
        h('span', { class: 'text' }, m.text)));
    }
    if (messages.length === 0) items.push(h('p', { class: 'empty' }, 'No messages yet.'));
    log.replaceChildren(...items);
    // New messages keep the view at the bottom; loading older ones keeps the reader's place.
    log.scrollTop = atBottom ? log.scrollHeight : log.scrollHeight - fromBottom;
    if (unknown.length) this.names_of(unknown).then(() => this.relabel());
  }

  private relabel(): void {
    for (const who of this.log.querySelectorAll<HTMLElement>('.msg:not(.own) .who[data-sender]')) {
      const name = this.names.get(who.dataset.sender ?? '');
      if (name) who.textContent = name;
    }
  }

  /** Fills the id → name cache (at most 20 look-ups at once; unknown users keep their id). */
  private async names_of(ids: string[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.names.has(id)).slice(0, 20);
    await Promise.all(missing.map(async (id) => {
      const u = await this.session.user(id).get().catch(() => null);
      this.names.set(id, u?.name || id);
    }));
  }
}
