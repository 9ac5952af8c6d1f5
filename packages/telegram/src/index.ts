export * from './format.js';
export * from './sender.js';
