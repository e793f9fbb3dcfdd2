import { Http } from './http.js';
import type { User, UserAttributes } from './types.js';
export interface Subscription {
    unsubscribe(): void;
}
/** Listeners by user id, shared by every ref of one session (a `set` on one ref reaches all). */
export type UserListeners = Map<string, Set<(u: User | null) => void>>;
export declare class UserRef {
    private readonly http;
    readonly id: string;
    private readonly all;
    constructor(http: Http, id: string, all: UserListeners);
    private get listeners();
    /** The user, or null when there is none. */
    get(): Promise<User | null>;
    /** Creates or updates the user (`null` deletes a field). Needs browser user sync. */
    set(attrs: UserAttributes): Promise<void>;
    /** Creates the user when missing; an existing user is left as it is. */
    createIfNotExists(attrs: UserAttributes): Promise<void>;
    /**
     * The user now and after every change made through this session. The native socket carries
     * no user events, so changes made elsewhere show on the next `get` or `set`.
     */
    subscribe(onChange: (u: User | null) => void): Subscription;
    private refresh;
}
