export type Access = 'ReadWrite' | 'Read' | 'None';
export type Notify = boolean | 'MentionsOnly';
export interface User {
    id: string;
    name: string;
    welcomeMessage: string | null;
    photoUrl: string | null;
    role: string;
    custom: Record<string, string>;
    availabilityText: string | null;
    locale: string | null;
    createdAt: number;
}
export interface UserAttributes {
    name?: string;
    email?: string | string[] | null;
    phone?: string | string[] | null;
    photoUrl?: string | null;
    welcomeMessage?: string | null;
    role?: string | null;
    locale?: string | null;
    custom?: Record<string, string | null> | null;
    availabilityText?: string | null;
}
export interface Participant {
    access: Access;
    notify: Notify;
    isUnread: boolean;
    joinedAt: number;
}
export interface ParticipantAttributes {
    access?: Access;
    notify?: Notify;
}
export interface Message {
    id: string;
    conversationId: string;
    type: 'UserMessage' | 'SystemMessage';
    senderId: string | null;
    text: string;
    custom: Record<string, string>;
    createdAt: number;
    editedAt: number | null;
}
export interface Conversation {
    id: string;
    subject: string | null;
    photoUrl: string | null;
    welcomeMessages: string[] | null;
    custom: Record<string, string>;
    lastMessage: Message | null;
    createdAt: number;
    guestAccess: boolean;
    /** Every participant with an access other than None (single conversation reads only). */
    participants?: Record<string, Participant>;
    /** True when the current user sees it as a guest. */
    guest?: boolean;
    /** The current user's own participation (inbox entries). */
    access?: Access;
    notify?: Notify;
    isUnread?: boolean;
    joinedAt?: number;
}
export interface ConversationAttributes {
    subject?: string | null;
    photoUrl?: string | null;
    welcomeMessages?: string[] | null;
    custom?: Record<string, string | null> | null;
    /** Participants to add (by id). */
    participants?: string[];
    guestAccess?: boolean;
}
export interface SessionSettings {
    browserUserSync: boolean;
    browserConversationSync: boolean;
    guestsAllowed: boolean;
}
