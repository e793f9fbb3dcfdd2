// `session.createInbox()`: the user's conversations, most recently active first, kept live
// (added, removed, new messages). Choosing one (click, Enter or Space) calls `onSelect`;
// `inbox.chatbox` opens it in a chat box when given.

import type { Session, InboxSubscription } from '../session.js';
import type { Conversation } from '../types.js';
import type { Chatbox } from './chatbox.js';
import { h, host } from './dom.js';
import { CSS } from './style.js';

export class Inbox {
  readonly element: HTMLElement;
  /** Called with the chosen conversation's id. */
  onSelect?: (conversationId: string) => void;
  private sub: InboxSubscription;
  private list = h('ul', { role: 'listbox', 'aria-label': 'Conversations' });
  private more = h('div');
  private selected: string | null = null;

  constructor(session: Session, opts: { chatbox?: Chatbox; limit?: number } = {}) {
    const { el, root } = host('huddle-inbox', CSS);
    this.element = el;
    root.append(h('div', { class: 'box', role: 'region', 'aria-label': 'Inbox' },
      h('header', {}, h('h2', {}, 'Conversations')), this.list, this.more));
    if (opts.chatbox) {
      const box = opts.chatbox;
      this.onSelect = (id) => { box.select(id).catch(() => undefined); };
    }
    this.sub = session.subscribeConversations((w) => this.paint(w.conversations, w.loadedAll), { limit: opts.limit ?? 20 });
  }

  /** Resolves once the first page is shown. */
  get ready(): Promise<void> {
    return this.sub.ready;
  }

  mount(target: Element): void {
    target.append(this.element);
  }

  destroy(): void {
    this.sub.unsubscribe();
    this.element.remove();
  }

  private choose(id: string): void {
    this.selected = id;
    for (const li of this.list.querySelectorAll('li')) li.setAttribute('aria-selected', String(li.dataset.id === id));
    this.onSelect?.(id);
  }

  private paint(convs: Conversation[], loadedAll: boolean): void {
    const focused = (this.element.shadowRoot?.activeElement as HTMLElement | null)?.dataset?.id;
    this.list.replaceChildren(...convs.map((c) => {
      const li = h('li', {
        role: 'option', tabindex: '0', 'data-id': c.id, class: c.isUnread ? 'unread' : undefined,
        'aria-selected': String(c.id === this.selected),
        onclick: () => this.choose(c.id),
        onkeydown: (e: KeyboardEvent) => {
          if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); this.choose(c.id); }
          if (e.key === 'ArrowDown') (li.nextElementSibling as HTMLElement | null)?.focus();
          if (e.key === 'ArrowUp') (li.previousElementSibling as HTMLElement | null)?.focus();
        },
      }, h('span', { class: 'title' }, c.subject || c.id), h('span', { class: 'last' }, c.lastMessage?.text ?? 'No messages yet'));
      return li;
    }));
    if (convs.length === 0) this.list.append(h('li', { class: 'empty', role: 'option', 'aria-disabled': 'true' }, 'No conversations yet.'));
    if (focused) (this.list.querySelector(`li[data-id="${CSS_escape(focused)}"]`) as HTMLElement | null)?.focus();
    this.more.replaceChildren(loadedAll ? '' : h('button', { type: 'button', class: 'secondary', onclick: () => this.sub.loadMore() }, 'Load more'));
  }
}

function CSS_escape(s: string): string {
  return (globalThis as any).CSS?.escape ? (globalThis as any).CSS.escape(s) : s.replace(/["\\]/g, '\\$&');
}
