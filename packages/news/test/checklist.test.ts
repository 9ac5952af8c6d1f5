import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { repositoryRoot } from '@herald/testing';
import { parseChecklist, scoreArticle } from '../src/checklist.js';

const checklist = parseChecklist(
  readFileSync(join(repositoryRoot(), 'services/news-publisher/checklist.yaml'), 'utf8'),
);

describe('the relevance checklist', () => {
  it('scores an article by category, the title counting twice', () => {
    const verdict = scoreArticle(
      checklist,
      'Gold hits record as central banks buy bullion',
      'Silver follows.',
    );
    expect(verdict.category).toBe('gold');
    expect(verdict.score).toBeGreaterThanOrEqual(checklist.strictThreshold);
    expect(verdict.matched).toEqual(expect.arrayContaining(['gold', 'bullion', 'silver']));
  });

  it('matches whole words only', () => {
    expect(
      scoreArticle(checklist, 'Goldman Sachs reports earnings', undefined).category,
    ).toBeUndefined();
    expect(scoreArticle(checklist, 'Tokenized treasuries pass $10B', 'BUIDL leads.').category).toBe(
      'rwa',
    );
  });

  it('rules out excluded terms whatever else matches', () => {
    const verdict = scoreArticle(checklist, 'Win gold bullion in our casino giveaway', undefined);
    expect(verdict).toMatchObject({ score: 0, excludedBy: 'casino' });
  });

  it('refuses a checklist with unknown keys', () => {
    expect(() => parseChecklist('threshold: 2\ncategories: {}\ncolour: red')).toThrow();
  });
});
