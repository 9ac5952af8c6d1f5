export * from './schema/index.js';
export {
  createDatabase,
  createPool,
  pingPostgres,
  type Database,
  type PoolOptions,
} from './pool.js';
export { MIGRATIONS_DIR, migrateDatabase } from './migrations.js';
