import { readFileSync } from 'node:fs';

/**
 * The version in the package.json one level above a compiled module, so that metrics and
 * /status say which build runs. Call with `import.meta.url`.
 */
export function packageVersion(moduleUrl: string): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', moduleUrl), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}
