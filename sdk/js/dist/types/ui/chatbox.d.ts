import type { ConversationRef, EndReason } from '../conversation.js';
import type { Session } from '../session.js';
export interface SelectOptions {
    /** Enter as a guest when not a participant (no effect for a participant). */
    asGuest?: boolean;
}
export declare class Chatbox {
    private readonly session;
    /** The `<huddle-chatbox>` element (style it, or set --huddle-* CSS variables on it). */
    readonly element: HTMLElement;
    /** Called when access to the selected conversation ends. */
    onEnd?: (reason: EndReason) => void;
    private readonly root;
    private readonly box;
    private conv;
    private messagesSub;
    private convSub;
    private typingSub;
    private typingSentAt;
    private names;
    private generation;
    private asGuest;
    constructor(session: Session);
    mount(target: Element): void;
    /**
     * Opens a conversation (a ref or an id; null clears the box). Resolves once its latest
     * messages are painted; rejects with a typed error (e.g. GuestAccessDisabledError,
     * NotFoundError) and shows why when the user may not open it.
     */
    select(conversation: ConversationRef | string | null, opts?: SelectOptions): Promise<void>;
    destroy(): void;
    private teardown;
    private showEmpty;
    private end;
    private header;
    private log;
    private typingLine;
    private footer;
    private access;
    private guest;
    private render;
    private renderHeader;
    private renderFooter;
    /** Typing notices: "typing" at most every 3 s while there is text, "stopped" once. */
    private typed;
    private typingIds;
    private showTyping;
    private notice;
    private live;
    private paint;
    private relabel;
    /** Fills the id → name cache (at most 20 look-ups at once; unknown users keep their id). */
    private names_of;
}
