export declare class HuddleError extends Error {
    /** The server's errorCode (e.g. "BROWSER_SYNC_DISALLOWED"), or an SDK code such as "NETWORK". */
    readonly code: string;
    /** The HTTP status, or 0 when the error did not come from an HTTP answer. */
    readonly status: number;
    constructor(code: string, message: string, status?: number);
}
/** The app's security settings disallow this write from a browser ("browser synchronization"). */
export declare class BrowserSyncDisallowedError extends HuddleError {
}
/** The user's access to the conversation is `Read` (or they may not write here at all). */
export declare class NoWriteAccessError extends HuddleError {
}
/** The token or signature is missing, malformed, wrongly signed or expired. */
export declare class InvalidTokenError extends HuddleError {
}
/** Guests are not allowed in this conversation (app settings or the conversation's guestAccess). */
export declare class GuestAccessDisabledError extends HuddleError {
}
/** No such conversation/user/participant, or the user may not see it. */
export declare class NotFoundError extends HuddleError {
}
/** The request was refused for another reason (a 403 without a more specific code). */
export declare class ForbiddenError extends HuddleError {
}
/** The request itself was invalid (400). */
export declare class InvalidRequestError extends HuddleError {
}
/** Huddle could not be reached, or answered with a server error. */
export declare class NetworkError extends HuddleError {
}
/** The session was destroyed. */
export declare class SessionDestroyedError extends HuddleError {
}
/** The one mapping from a server answer (`{errorCode, reason}`) to a typed error. */
export declare function errorFrom(status: number, code: string | undefined, reason: string | undefined): HuddleError;
