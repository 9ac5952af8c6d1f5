import { Composer, Markup, type Context } from 'telegraf';
import type { BotDeps } from '../deps.js';
import { editMessage } from '../edit-message.js';
import type { UserSettings } from '../../sessions.js';

/** Answer languages offered; `auto` follows the language of the question. */
export const LANGUAGES = {
  auto: 'Auto',
  en: 'English',
  ru: 'Русский',
  es: 'Español',
  de: 'Deutsch',
  zh: '中文',
} as const;
const LENGTHS = { short: 'Short', normal: 'Normal', long: 'Long' } as const;

type Language = keyof typeof LANGUAGES;
type Length = keyof typeof LENGTHS;

const isLanguage = (value: string): value is Language => value in LANGUAGES;
const isLength = (value: string): value is Length => value in LENGTHS;

function settingsView(settings: UserSettings) {
  const language = settings.language && isLanguage(settings.language) ? settings.language : 'auto';
  const length = settings.answerLength ?? 'normal';
  const reasoning = settings.showReasoning ?? false;
  const text = [
    '<b>Your settings</b>',
    `Language: ${LANGUAGES[language]}`,
    `Answer length: ${LENGTHS[length]}`,
    `Show the model's reasoning: ${reasoning ? 'yes' : 'no'}`,
  ].join('\n');
  const mark = (on: boolean, label: string) => (on ? `✓ ${label}` : label);
  const keyboard = Markup.inlineKeyboard([
    Object.entries(LANGUAGES)
      .slice(0, 3)
      .map(([code, label]) =>
        Markup.button.callback(mark(code === language, label), `set:lang:${code}`),
      ),
    Object.entries(LANGUAGES)
      .slice(3)
      .map(([code, label]) =>
        Markup.button.callback(mark(code === language, label), `set:lang:${code}`),
      ),
    Object.entries(LENGTHS).map(([code, label]) =>
      Markup.button.callback(mark(code === length, label), `set:len:${code}`),
    ),
    [
      Markup.button.callback(
        reasoning ? 'Hide reasoning' : 'Show reasoning',
        `set:think:${reasoning ? 'off' : 'on'}`,
      ),
    ],
  ]);
  return { text, keyboard };
}

/** /settings and its buttons: language, answer length, showing the reasoning. */
export function settingsFeature(deps: BotDeps): Composer<Context> {
  const feature = new Composer<Context>();
  const show = async (ctx: Context & { from: { id: number } }) => {
    const view = settingsView(await deps.sessions.settings(ctx.from.id));
    await ctx.reply(view.text, { parse_mode: 'HTML', ...view.keyboard });
  };
  feature.command('settings', show);
  feature.action('settings', async (ctx) => {
    await ctx.answerCbQuery();
    await show(ctx);
  });
  feature.action(/^set:(lang|len|think):(.+)$/, async (ctx) => {
    const [, kind = '', value = ''] = ctx.match;
    let patch: Partial<UserSettings> | undefined;
    if (kind === 'lang' && isLanguage(value)) patch = { language: value };
    if (kind === 'len' && isLength(value)) patch = { answerLength: value };
    if (kind === 'think' && (value === 'on' || value === 'off'))
      patch = { showReasoning: value === 'on' };
    if (!patch) {
      await ctx.answerCbQuery('This button is no longer active.');
      return;
    }
    const settings = await deps.sessions.updateSettings(ctx.from.id, patch);
    await ctx.answerCbQuery('Saved');
    const view = settingsView(settings);
    await editMessage(ctx, view.text, { parse_mode: 'HTML', ...view.keyboard });
  });
  return feature;
}
