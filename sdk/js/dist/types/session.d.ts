import { Auth, type TokenFetcher } from './auth.js';
import { ConversationRef } from './conversation.js';
import { type HuddleError } from './errors.js';
import { Http, seg } from './http.js';
import { Realtime } from './socket.js';
import type { Conversation, SessionSettings, User } from './types.js';
import { UserRef, type Subscription } from './user.js';
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
export declare class Session {
    readonly appId: string;
    readonly userId: string;
    readonly url: string;
    /** @internal */ readonly http: Http;
    /** @internal */ readonly realtime: Realtime;
    private readonly auth;
    private readonly userListeners;
    /** Called when a background token refresh fails. */
    onError?: (e: HuddleError) => void;
    /** @internal use getSession */
    constructor(opts: SessionOptions, auth: Auth);
    /** The current user. */
    get currentUser(): UserRef;
    user(id: string): UserRef;
    conversation(id: string): ConversationRef;
    /** The app's browser settings as this session sees them (sync allowed, guests allowed). */
    settings(): Promise<SessionSettings>;
    /** Checks the credentials and returns the current user. */
    me(): Promise<{
        user: User;
        verified: boolean;
        settings: SessionSettings;
    }>;
    /** Replaces the token (for apps that renew tokens themselves). */
    setToken(token: string): void;
    /**
     * The user's conversations, most recently active first, `limit` at a time; kept live: a
     * conversation the user is added to appears, one they leave or lose access to disappears.
     */
    subscribeConversations(onChange: (w: InboxWindow) => void, opts?: {
        limit?: number;
    }): InboxSubscription;
    /** Ends the session: closes the socket and stops token refreshes. */
    destroy(): void;
}
/** Starts a session; rejects with InvalidTokenError when the credentials are refused. */
export declare function getSession(opts: SessionOptions): Promise<Session>;
export { seg };
