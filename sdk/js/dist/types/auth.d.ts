import { HuddleError } from './errors.js';
export type TokenFetcher = () => Promise<string>;
export interface Credentials {
    userId: string;
    token?: string;
    signature?: string;
    tokenFetcher?: TokenFetcher;
}
/** The `exp` claim of a JWT in ms, or null (malformed or none). */
export declare function tokenExpiry(token: string): number | null;
export declare class Auth {
    readonly creds: Credentials;
    private token?;
    private pending?;
    private timer?;
    private destroyed;
    /** Called with every new token (the socket reconnects with it next time). */
    onToken?: (token: string) => void;
    /** Called when a scheduled refresh fails (the next request retries). */
    onRefreshError?: (e: HuddleError) => void;
    constructor(creds: Credentials);
    /** A token for another user would silently sign in as them: refuse it here. */
    private check;
    canRefresh(): boolean;
    start(): Promise<void>;
    /** Fetches a new token (one fetch at a time, shared by concurrent callers). */
    refresh(): Promise<string>;
    /** Replaces the token (also public on the session, for apps that push tokens themselves). */
    setToken(token: string): void;
    private schedule;
    headers(): Promise<Record<string, string>>;
    /** Query parameters for the WebSocket (browsers cannot set its headers). */
    query(): Promise<string>;
    destroy(): void;
}
