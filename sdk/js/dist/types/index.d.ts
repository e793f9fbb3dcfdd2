export * from './data.js';
export { Chatbox, Inbox } from './ui/index.js';
export type { SelectOptions } from './ui/index.js';
