import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { normalizeText } from './canonical.js';

const checklistSchema = z
  .object({
    /** Score an article needs to pass the first, cheap stage. */
    threshold: z.number().positive().default(2),
    /** The stricter score used alone when the LLM cannot judge. */
    strictThreshold: z.number().positive().default(4),
    categories: z.record(
      z.string().regex(/^[a-z][a-z0-9-]*$/),
      z.object({
        /** Term → weight; a term is one or more words, matched as whole words. */
        terms: z.record(z.string().min(1), z.number()),
      }),
    ),
    /** Terms that rule an article out whatever else it says (casino, giveaway…). */
    exclude: z.array(z.string().min(1)).default([]),
  })
  .strict();

export type Checklist = z.infer<typeof checklistSchema>;

export interface ChecklistVerdict {
  /** The best category and its score; score 0 means nothing matched. */
  category: string | undefined;
  score: number;
  matched: string[];
  excludedBy: string | undefined;
}

export function parseChecklist(text: string): Checklist {
  return checklistSchema.parse(parseYaml(text));
}

export function loadChecklist(path: string): Checklist {
  return parseChecklist(readFileSync(path, 'utf8'));
}

const contains = (haystack: string, term: string) =>
  ` ${haystack} `.includes(` ${normalizeText(term)} `);

/**
 * The cheap first pass: weighted terms per category in the title (counted twice) and the
 * lead. An excluded term rules the article out.
 */
export function scoreArticle(
  checklist: Checklist,
  title: string,
  lead: string | undefined,
): ChecklistVerdict {
  const titleText = normalizeText(title);
  const leadText = normalizeText(lead ?? '');
  for (const term of checklist.exclude) {
    if (contains(titleText, term) || contains(leadText, term)) {
      return { category: undefined, score: 0, matched: [], excludedBy: term };
    }
  }
  let best: ChecklistVerdict = {
    category: undefined,
    score: 0,
    matched: [],
    excludedBy: undefined,
  };
  for (const [category, { terms }] of Object.entries(checklist.categories)) {
    let score = 0;
    const matched: string[] = [];
    for (const [term, weight] of Object.entries(terms)) {
      const inTitle = contains(titleText, term);
      const inLead = contains(leadText, term);
      if (inTitle || inLead) {
        score += weight * (inTitle ? 2 : 1);
        matched.push(term);
      }
    }
    if (score > best.score) best = { category, score, matched, excludedBy: undefined };
  }
  return best;
}
