import { clipText, escapeAttribute, escapeHtml } from '@herald/telegram';

export interface StoryToPost {
  title: string;
  /** The LLM's summary; absent when the checklist decided (the post then says only facts). */
  summary: string | null;
  category: string | null;
  /** Every site that carried the story, best source first. */
  links: { source: string; url: string; categories: string[] }[];
}

const MAX_TITLE = 300;
const MAX_SUMMARY = 800;
const MAX_LINKS = 5;

const clip = (text: string, max: number) => clipText(text, max, '…');

/** `#gold`, `#digital_assets`: Telegram hashtags take letters, digits and underscores. */
const hashtag = (category: string) => `#${category.replace(/[^\p{L}\p{N}_]+/gu, '_')}`;

/**
 * The channel post of a story, as Telegram HTML: the title in bold, the AI summary when
 * there is one, a link to each site that carried it, and the category hashtags. Every
 * piece of scraped text is escaped, and the whole stays far under Telegram's 4,096.
 */
export function composePost(story: StoryToPost): string {
  const parts = [`<b>${escapeHtml(clip(story.title.trim(), MAX_TITLE))}</b>`];
  if (story.summary?.trim()) parts.push(escapeHtml(clip(story.summary.trim(), MAX_SUMMARY)));
  const links = story.links
    .slice(0, MAX_LINKS)
    .map((link) => `<a href="${escapeAttribute(link.url)}">${escapeHtml(link.source)}</a>`);
  if (links.length > 0) parts.push(`Sources: ${links.join(' · ')}`);
  const categories = new Set<string>();
  if (story.category) categories.add(story.category);
  for (const link of story.links) for (const category of link.categories) categories.add(category);
  if (categories.size > 0) parts.push([...categories].map(hashtag).join(' '));
  return parts.join('\n\n');
}
