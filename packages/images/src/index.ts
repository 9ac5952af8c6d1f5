export * from './dockerfiles.js';
export * from './payload.js';
export * from './workflows.js';
