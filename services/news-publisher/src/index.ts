export { buildApp, type AppDeps } from './app.js';
export * from './env.js';
