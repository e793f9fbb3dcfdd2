// Adds the UI to sessions: `session.createChatbox()` and `session.createInbox()`. Kept apart
// from the data API so a bundler that only needs data leaves the UI out (`@huddle/client/data`).

import { Session } from '../session.js';
import { Chatbox } from './chatbox.js';
import { Inbox } from './inbox.js';

declare module '../session.js' {
  interface Session {
    /** A chat box for one conversation at a time (`select`, then `mount`). */
    createChatbox(): Chatbox;
    /** The user's conversation list; with `chatbox`, choosing one opens it there. */
    createInbox(opts?: { chatbox?: Chatbox; limit?: number }): Inbox;
  }
}

Session.prototype.createChatbox = function (this: Session) {
  return new Chatbox(this);
};
Session.prototype.createInbox = function (this: Session, opts?: { chatbox?: Chatbox; limit?: number }) {
  return new Inbox(this, opts);
};

export { Chatbox, Inbox };
export type { SelectOptions } from './chatbox.js';
