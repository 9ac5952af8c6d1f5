// The one Jest setup every Herald package shares: TypeScript through SWC as native ESM,
// and a real Postgres and Redis started once per run by the global setup.
import { fileURLToPath } from 'node:url';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

/**
 * Jest project config for the package whose jest.config.js calls it.
 * @param {string} displayName the package name, used by `--selectProjects`
 */
export function jestProject(displayName) {
  return {
    displayName,
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
          module: { type: 'es6' },
          sourceMaps: 'inline',
        },
      ],
    },
    // Sources import siblings as `./x.js` (NodeNext); the test run reads the `.ts` file.
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    globalSetup: here('./dist/global-setup.js'),
    globalTeardown: here('./dist/global-teardown.js'),
    testTimeout: 30_000,
  };
}
