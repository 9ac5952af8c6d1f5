export * from './breaker.js';
export * from './client.js';
export * from './reasoning.js';
export * from './sse.js';
