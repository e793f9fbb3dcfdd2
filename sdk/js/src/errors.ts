// Typed errors: every failure the SDK reports is a HuddleError with the server's `errorCode`;
// the cases an app must tell apart have their own class, so `instanceof` is enough.

export class HuddleError extends Error {
  /** The server's errorCode (e.g. "BROWSER_SYNC_DISALLOWED"), or an SDK code such as "NETWORK". */
  readonly code: string;
  /** The HTTP status, or 0 when the error did not come from an HTTP answer. */
  readonly status: number;
  constructor(code: string, message: string, status = 0) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }
}

/** The app's security settings disallow this write from a browser ("browser synchronization"). */
export class BrowserSyncDisallowedError extends HuddleError {}
/** The user's access to the conversation is `Read` (or they may not write here at all). */
export class NoWriteAccessError extends HuddleError {}
/** The token or signature is missing, malformed, wrongly signed or expired. */
export class InvalidTokenError extends HuddleError {}
/** Guests are not allowed in this conversation (app settings or the conversation's guestAccess). */
export class GuestAccessDisabledError extends HuddleError {}
/** No such conversation/user/participant, or the user may not see it. */
export class NotFoundError extends HuddleError {}
/** The request was refused for another reason (a 403 without a more specific code). */
export class ForbiddenError extends HuddleError {}
/** The request itself was invalid (400). */
export class InvalidRequestError extends HuddleError {}
/** Huddle could not be reached, or answered with a server error. */
export class NetworkError extends HuddleError {}
/** The session was destroyed. */
export class SessionDestroyedError extends HuddleError {}

/** The one mapping from a server answer (`{errorCode, reason}`) to a typed error. */
export function errorFrom(status: number, code: string | undefined, reason: string | undefined): HuddleError {
  const c = code || (status ? `HTTP_${status}` : 'UNKNOWN');
  const msg = reason || c;
  if (c === 'BROWSER_SYNC_DISALLOWED') return new BrowserSyncDisallowedError(c, msg, status);
  if (c === 'NO_WRITE_ACCESS') return new NoWriteAccessError(c, msg, status);
  if (c === 'GUEST_ACCESS_DISABLED') return new GuestAccessDisabledError(c, msg, status);
  if (status === 401 || c === 'UNAUTHENTICATED') return new InvalidTokenError(c, msg, status);
  if (status === 404 || c === 'NOT_FOUND' || c.endsWith('_NOT_FOUND')) return new NotFoundError(c, msg, status);
  if (status === 403) return new ForbiddenError(c, msg, status);
  if (status === 400 || status === 413) return new InvalidRequestError(c, msg, status);
  return new NetworkError(c, msg, status);
}
