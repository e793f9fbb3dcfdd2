import type { Session } from '../session.js';
import type { Chatbox } from './chatbox.js';
export declare class Inbox {
    readonly element: HTMLElement;
    /** Called with the chosen conversation's id. */
    onSelect?: (conversationId: string) => void;
    private sub;
    private list;
    private more;
    private selected;
    constructor(session: Session, opts?: {
        chatbox?: Chatbox;
        limit?: number;
    });
    /** Resolves once the first page is shown. */
    get ready(): Promise<void>;
    mount(target: Element): void;
    destroy(): void;
    private choose;
    private paint;
}
