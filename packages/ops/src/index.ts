export * from './metrics.js';
export * from './routes.js';
export * from './shutdown.js';
export * from './app.js';
export * from './runtime.js';
export * from './version.js';
export * from './cost.js';
