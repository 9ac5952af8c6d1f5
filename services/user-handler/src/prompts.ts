import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatMessage } from '@herald/ai';
import type { Turn, UserSettings } from './sessions.js';

/** The system prompt of each purpose, from editable Markdown files. */
export interface Prompts {
  chat: string;
  market: string;
}

/** `prompts/` of this package: shipped with Herald, editable per install (PROMPTS_DIR). */
export const DEFAULT_PROMPTS_DIR = fileURLToPath(new URL('../prompts', import.meta.url));

export function loadPrompts(dir = DEFAULT_PROMPTS_DIR): Prompts {
  const read = (name: string) => readFileSync(join(dir, `${name}.md`), 'utf8').trim();
  return { chat: read('chat'), market: read('market') };
}

const LANGUAGE_NAMES: Record<string, string> = {
  en: 'English',
  ru: 'Russian',
  es: 'Spanish',
  de: 'German',
  zh: 'Chinese',
};

/** What the user's settings ask of the answer, as instructions for the model. */
export function settingsInstructions(settings: UserSettings): string {
  const lines: string[] = [];
  const language = settings.language && LANGUAGE_NAMES[settings.language];
  lines.push(language ? `Answer in ${language}.` : 'Answer in the language of the question.');
  if (settings.answerLength === 'short') lines.push('Keep the answer under 80 words.');
  if (settings.answerLength === 'long') lines.push('Give a thorough, detailed answer.');
  return lines.join(' ');
}

/** A rough token count (about 4 characters a token for English, fewer for others). */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 3.5);

/**
 * The messages for one request: the system prompt with the user's settings, as many of
 * the latest turns as fit `historyTokens` (oldest dropped first), and the question.
 */
export function buildMessages(input: {
  system: string;
  settings: UserSettings;
  history: readonly Turn[];
  question: string;
  historyTokens: number;
  context?: string;
}): ChatMessage[] {
  const system = [input.system, settingsInstructions(input.settings), input.context]
    .filter(Boolean)
    .join('\n\n');
  const kept: Turn[] = [];
  let budget = input.historyTokens;
  for (const turn of [...input.history].reverse()) {
    budget -= estimateTokens(turn.content);
    if (budget < 0) break;
    kept.unshift(turn);
  }
  return [
    { role: 'system', content: system },
    ...kept.map((turn) => ({ role: turn.role, content: turn.content })),
    { role: 'user', content: input.question },
  ];
}
