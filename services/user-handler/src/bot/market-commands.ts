/** The market commands: what each asks of the archive, and its default question. */
export const MARKET_COMMANDS = {
  gold: {
    category: 'gold',
    title: 'gold and precious metals',
    question: 'What is moving gold and precious metals now?',
  },
  rwa: {
    category: 'rwa',
    title: 'tokenized real-world assets',
    question: 'What is new in tokenized real-world assets?',
  },
  bd: {
    category: 'partnerships',
    title: 'partnerships and business development',
    question: 'Which partnerships and deals matter this week?',
  },
  summary: {
    category: undefined,
    title: 'the markets',
    question: 'Summarize the most important news of the last day.',
  },
  meaning: { category: undefined, title: 'that term', question: '' },
} as const;

export type MarketCommand = keyof typeof MARKET_COMMANDS;
