import { HuddleError } from './errors.js';
import { Http } from './http.js';
import type { Realtime } from './socket.js';
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
export declare class ParticipantRef {
    private readonly conv;
    readonly userId: string;
    constructor(conv: ConversationRef, userId: string);
    private get path();
    /** The participation, or null when the user is not a participant. */
    get(): Promise<Participant | null>;
    /** Adds the user or replaces their access/notify (`setParticipant`). */
    set(attrs?: ParticipantAttributes): Promise<void>;
    /** Changes access/notify of an existing participant. */
    edit(attrs: ParticipantAttributes): Promise<void>;
    /** Adds the user when not yet a participant; an existing participation is left as it is. */
    createIfNotExists(attrs?: ParticipantAttributes): Promise<void>;
    delete(): Promise<void>;
}
export declare class ConversationRef {
    readonly http: Http;
    private readonly rt;
    readonly id: string;
    private readonly me;
    constructor(http: Http, rt: Realtime, id: string, me: string);
    private get path();
    /** The conversation, or null when the user may not see it (not a participant, no guest entry). */
    get(opts?: ConversationOptions): Promise<Conversation | null>;
    /** Creates or updates the conversation; the current user becomes a participant. */
    set(attrs?: ConversationAttributes): Promise<void>;
    /** Creates the conversation (with the current user in it) when it does not exist for them. */
    createIfNotExists(attrs?: ConversationAttributes): Promise<void>;
    participant(userId: string): ParticipantRef;
    /** The seed's spelling of `participant(userId).set(attrs)`. */
    setParticipant(userId: string, attrs?: ParticipantAttributes): Promise<void>;
    /** The current user stops being a participant. */
    leave(): Promise<void>;
    send(text: string, opts?: SendOptions & ConversationOptions): Promise<Message>;
    markAsRead(): Promise<void>;
    /** A page of messages, newest first, older than `startingAfter`. */
    messages(opts?: ConversationOptions & {
        limit?: number;
        startingAfter?: string;
    }): Promise<Message[]>;
    /** The conversation now and after every change; null once the user may no longer see it. */
    subscribe(onChange: (c: Conversation | null) => void, opts?: LiveOptions): Subscription & {
        ready: Promise<void>;
    };
    /** The participants (id → participation) now and after every change. */
    subscribeParticipants(onChange: (p: Record<string, Participant>) => void, opts?: LiveOptions): Subscription & {
        ready: Promise<void>;
    };
    /**
     * A window of the latest `limit` messages (oldest first), kept up to date live; `loadMore`
     * extends it into the past. Messages arrive once each, also across reconnects.
     */
    subscribeMessages(onChange: (w: MessageWindow) => void, opts?: LiveOptions & {
        limit?: number;
    }): MessagesSubscription;
    /**
     * Who else is typing now (user ids), live. A user counts as typing until they say they
     * stopped or for 6 s after their last notice (a closed tab sends no "stopped").
     */
    subscribeTyping(onChange: (userIds: string[]) => void, opts?: LiveOptions): Subscription & {
        ready: Promise<void>;
    };
    /**
     * Says whether the current user is typing here. Call with true on input (at most every few
     * seconds) and false when they stop or send; best effort, needs a live view of the conversation.
     */
    setTyping(typing: boolean, opts?: ConversationOptions): void;
    /** One socket subscription with the end of access reported once. */
    private live;
}
