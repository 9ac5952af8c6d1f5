export { freePort } from './net.js';
export { startPostgres, type EmbeddedPostgresServer, type PostgresOptions } from './postgres.js';
export { startRedisServer, type RedisServer, type RedisServerOptions } from './redis.js';
