import { Chatbox } from './chatbox.js';
import { Inbox } from './inbox.js';
declare module '../session.js' {
    interface Session {
        /** A chat box for one conversation at a time (`select`, then `mount`). */
        createChatbox(): Chatbox;
        /** The user's conversation list; with `chatbox`, choosing one opens it there. */
        createInbox(opts?: {
            chatbox?: Chatbox;
            limit?: number;
        }): Inbox;
    }
}
export { Chatbox, Inbox };
export type { SelectOptions } from './chatbox.js';
