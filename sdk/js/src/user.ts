// `session.user(id)`: read a user, and (while browser user sync is allowed) create or update it.

import { NotFoundError } from './errors.js';
import { Http, seg } from './http.js';
import type { User, UserAttributes } from './types.js';

export interface Subscription {
  unsubscribe(): void;
}

/** Listeners by user id, shared by every ref of one session (a `set` on one ref reaches all). */
export type UserListeners = Map<string, Set<(u: User | null) => void>>;

export class UserRef {
  constructor(private readonly http: Http, readonly id: string, private readonly all: UserListeners) {}

  private get listeners(): Set<(u: User | null) => void> {
    let set = this.all.get(this.id);
    if (!set) this.all.set(this.id, (set = new Set()));
    return set;
  }

  /** The user, or null when there is none. */
  async get(): Promise<User | null> {
    try {
      return await this.http.call<User>('GET', `users/${seg(this.id)}`);
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  }

  /** Creates or updates the user (`null` deletes a field). Needs browser user sync. */
  async set(attrs: UserAttributes): Promise<void> {
    await this.http.call('PUT', `users/${seg(this.id)}`, attrs);
    await this.refresh();
  }

  /** Creates the user when missing; an existing user is left as it is. */
  async createIfNotExists(attrs: UserAttributes): Promise<void> {
    if ((await this.get()) === null) await this.set(attrs);
  }

  /**
   * The user now and after every change made through this session. The native socket carries
   * no user events, so changes made elsewhere show on the next `get` or `set`.
   */
  subscribe(onChange: (u: User | null) => void): Subscription {
    this.listeners.add(onChange);
    this.get().then((u) => this.listeners.has(onChange) && onChange(u), () => undefined);
    return {
      unsubscribe: () => {
        this.listeners.delete(onChange);
        if (this.listeners.size === 0) this.all.delete(this.id);
      },
    };
  }

  private async refresh(): Promise<void> {
    if (!this.all.has(this.id)) return;
    const u = await this.get();
    for (const l of this.listeners) l(u);
  }
}
