import { defineConfig } from 'drizzle-kit';

// Reads the compiled schema: drizzle-kit's loader does not map NodeNext `.js` imports
// back to `.ts` sources. `pnpm generate` builds first.
export default defineConfig({
  dialect: 'postgresql',
  schema: './dist/schema/index.js',
  out: './drizzle',
});
