export * from './fetch.js';
export * from './sources.js';
export * from './parse.js';
