export * from './articles.js';
export * from './channel-posts.js';
export * from './chats.js';
export * from './conversation-messages.js';
export * from './leader-epochs.js';
export * from './sources.js';
export * from './stories.js';
export * from './users.js';
