import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One chat request of the load test: Herald's system prompt and a question. */
export interface LoadPrompt {
  kind: 'short' | 'long';
  messages: { role: 'system' | 'user'; content: string }[];
}

/**
 * Where Herald keeps its system prompts: the user-handler's `prompts/` (the Markdown files
 * its `loadPrompts` reads, and which an install may replace through PROMPTS_DIR).
 */
export const HERALD_PROMPTS_DIR = fileURLToPath(
  new URL('../../services/user-handler/prompts/', import.meta.url),
);

/** Quick questions, as users send them in a chat. */
const SHORT_QUESTIONS = [
  'What moved the gold price this week?',
  'Is silver more volatile than gold?',
  'What is a tokenized treasury fund?',
  'How do gold ETFs store their metal?',
];

/** A long market question with pasted news: the prompt a market answer builds. */
const NEWS = [
  'Central banks added 1,037 tonnes of gold to their reserves last year, the second-highest total on record, ',
  'led by purchases from emerging-market banks seeking to diversify away from the dollar. ',
  'Meanwhile, a large asset manager launched a tokenized money-market fund on a public blockchain, ',
  'with shares settled on-chain and redeemable daily; its assets passed half a billion dollars within months. ',
  'Analysts note that real yields fell over the quarter while the dollar index weakened, ',
  'and that futures positioning in gold remains below its peak of the previous cycle. ',
].join('');

const LONG_QUESTIONS = [
  `Here are three news items from this week:\n\n1. ${NEWS}\n\n2. ${NEWS}\n\n3. ${NEWS}\n\n` +
    'Taking these together, explain what is driving gold demand, how tokenized funds change ' +
    'who can hold treasuries, and what risks a long-term holder of both should watch. ' +
    'Compare the two trends, say which signals would show each one reversing, and keep the ' +
    'answer structured with short sections.',
  `I read this summary of the market:\n\n${NEWS}${NEWS}\n\nPlease walk me through what falling ` +
    'real yields mean for gold in plain terms, why central banks would buy gold instead of ' +
    'bonds, and whether tokenized money-market funds compete with gold as a reserve asset.',
];

/**
 * The prompt set: Herald's chat prompt with short questions, its market prompt with long
 * ones, alternating so every concurrency level sees both.
 */
export function loadPrompts(promptsDir = HERALD_PROMPTS_DIR): LoadPrompt[] {
  const read = (name: string) => readFileSync(join(promptsDir, `${name}.md`), 'utf8').trim();
  const chat = read('chat');
  const market = read('market');
  const prompts: LoadPrompt[] = [];
  const count = Math.max(SHORT_QUESTIONS.length, LONG_QUESTIONS.length);
  for (let i = 0; i < count; i += 1) {
    const short = SHORT_QUESTIONS[i % SHORT_QUESTIONS.length]!;
    const long = LONG_QUESTIONS[i % LONG_QUESTIONS.length]!;
    prompts.push({
      kind: 'short',
      messages: [
        { role: 'system', content: chat },
        { role: 'user', content: short },
      ],
    });
    prompts.push({
      kind: 'long',
      messages: [
        { role: 'system', content: market },
        { role: 'user', content: long },
      ],
    });
  }
  return prompts;
}
