import { HuddleError } from './errors.js';
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
    target: {
        conversation: string;
        asGuest: boolean;
    } | {
        inbox: true;
    };
    /** The last event id seen, per conversation (ids grow within a conversation only). */
    seen: Map<string, number>;
    /** Set when re-subscribing after a drop with no event seen yet: nothing to resume from. */
    reload?: boolean;
    handlers: SubHandlers;
    ready?: {
        resolve(): void;
        reject(e: HuddleError): void;
    };
}
export declare class Realtime {
    private readonly base;
    private readonly appId;
    private readonly auth;
    private ws?;
    private subs;
    private seq;
    private backoff;
    private pingTimer?;
    private reconnectTimer?;
    private closed;
    private open;
    /** Connection state changes, for UIs that show "reconnecting". */
    onState?: (state: 'connecting' | 'open' | 'reconnecting' | 'closed') => void;
    constructor(base: string, appId: string, auth: Auth);
    /** Subscribes; resolves on `ready`, rejects with the typed error the server answered. */
    subscribe(target: Sub['target'], handlers: SubHandlers): {
        id: string;
        ready: Promise<void>;
        close(): void;
    };
    /**
     * Tells the conversation's other subscribers that this user types (best effort: dropped while
     * the socket is not open; typing is transient). A refusal is ignored.
     */
    typing(conversation: string, typing: boolean, asGuest: boolean): void;
    /** Drops the connection as if the network failed (tests and "reconnect now" buttons). */
    reconnectNow(): void;
    destroy(): void;
    private disconnect;
    private connect;
    private dropped;
    private send;
    private sendSubscribe;
    /** Where a re-subscription resumes: a conversation's last id seen; the inbox cannot resume. */
    private resumeFrom;
    private frame;
    private failAll;
}
export {};
