// @huddle/client: Huddle's browser SDK: the data API and the embeddable chat UI.

export * from './data.js';
export { Chatbox, Inbox } from './ui/index.js';
export type { SelectOptions } from './ui/index.js';
