export { getSession, Session } from './session.js';
export type { SessionOptions, InboxWindow, InboxSubscription } from './session.js';
export { ConversationRef, ParticipantRef } from './conversation.js';
export type { MessageWindow, MessagesSubscription, SendOptions, ConversationOptions, LiveOptions, EndReason } from './conversation.js';
export { UserRef } from './user.js';
export type { Subscription } from './user.js';
export * from './errors.js';
export type * from './types.js';
export { tokenExpiry } from './auth.js';
