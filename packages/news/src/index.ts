export * from './fetch.js';
export * from './sources.js';
