export * from './fetch.js';
export * from './sources.js';
export * from './parse.js';
export * from './canonical.js';
export * from './near-duplicates.js';
export * from './html.js';
export * from './checklist.js';
export * from './control.js';
