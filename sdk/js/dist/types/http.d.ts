import { HuddleError } from './errors.js';
import type { Auth } from './auth.js';
export declare class Http {
    private readonly base;
    private readonly appId;
    private readonly auth;
    constructor(base: string, appId: string, auth: Auth);
    call<T>(method: string, path: string, body?: unknown, query?: Record<string, string | undefined>): Promise<T>;
    private once;
}
/** A path segment, escaped. */
export declare const seg: (s: string) => string;
export declare function isError(e: unknown): e is HuddleError;
