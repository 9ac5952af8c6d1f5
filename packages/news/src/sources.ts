import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { envVar, z } from '@herald/config';

const selectors = z.object({
  item: z.string().min(1).describe('CSS selector of one story on the page'),
  title: z.string().min(1),
  link: z.string().min(1),
  summary: z.string().min(1).optional(),
  date: z.string().min(1).optional(),
});

const httpUrl = z
  .string()
  .url()
  .refine((value) => /^https?:\/\//.test(value), 'must start with http:// or https://');

/** One news source of `NEWS_SOURCES_FILE`. */
export const sourceSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, like kitco-gold'),
    url: httpUrl,
    kind: z.enum(['rss', 'html']),
    categories: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/)).min(1),
    weight: z.number().positive().max(10).default(1),
    /** Least time between two fetches of this source, written like 30m; read as milliseconds. */
    interval: envVar.durationMs().optional(),
    selectors: selectors.optional(),
  })
  .strict()
  .refine((source) => source.kind !== 'html' || source.selectors !== undefined, {
    message: 'an html source needs selectors (item, title, link)',
    path: ['selectors'],
  });

export type Source = z.infer<typeof sourceSchema>;

const fileSchema = z
  .object({ sources: z.array(sourceSchema).min(1) })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.sources.forEach((source, index) => {
      if (seen.has(source.id)) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate id ${source.id}`,
          path: ['sources', index, 'id'],
        });
      }
      seen.add(source.id);
    });
  });

/** A sources file that cannot be used, with every problem found in it. */
export class SourcesError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not a valid sources file:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SourcesError';
  }
}

/** Parses sources YAML, reporting every problem with where it is (sources[3].url: …). */
export function parseSources(text: string, file = 'sources file'): Source[] {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    const where =
      error instanceof YAMLParseError ? ` at line ${error.linePos?.[0]?.line ?? '?'}` : '';
    throw new SourcesError(file, [
      `not valid YAML${where}: ${(error as Error).message.split('\n')[0]}`,
    ]);
  }
  const result = fileSchema.safeParse(data);
  if (!result.success) {
    throw new SourcesError(
      file,
      result.error.issues.map((issue) => {
        const path = issue.path
          .map((part, i) =>
            typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`,
          )
          .join('');
        return `${path || '(top)'}: ${issue.message}`;
      }),
    );
  }
  return result.data.sources;
}

export function loadSources(path: string): Source[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SourcesError(path, [`cannot be read: ${(error as Error).message}`]);
  }
  return parseSources(text, path);
}
