export { z } from 'zod';
export * from './env-vars.js';
export * from './herald.js';
export * from './parse.js';
