import { Composer, Markup, type Context } from 'telegraf';
import type { BotDeps, ModelChoice } from '../deps.js';
import { escapeHtml } from '@herald/telegram';
import { editMessage } from '../edit-message.js';
import { replyHtml } from '../reply-html.js';

/** The model a user gets: their pick while it is still offered, else the default. */
export function currentModel(choice: ModelChoice, picked: string | undefined): string | undefined {
  if (picked !== undefined && choice.available.includes(picked)) return picked;
  return choice.default ?? choice.available[0];
}

// Telegram limits callback data to 64 bytes.
const callbackFor = (model: string) => `model:${model}`;
const fits = (model: string) => Buffer.byteLength(callbackFor(model)) <= 64;

function modelsView(choice: ModelChoice, current: string | undefined, served?: readonly string[]) {
  const lines = ['<b>AI models</b>'];
  for (const model of choice.available) {
    const missing = served && !served.includes(model) ? ' (not served right now)' : '';
    lines.push(`${model === current ? '●' : '○'} <code>${escapeHtml(model)}</code>${missing}`);
  }
  lines.push('', 'Pick one below, or send /switch &lt;model&gt;.');
  const buttons = choice.available
    .filter(fits)
    .map((model) => [
      Markup.button.callback(`${model === current ? '✓ ' : ''}${model}`, callbackFor(model)),
    ]);
  return { text: lines.join('\n'), keyboard: Markup.inlineKeyboard(buttons) };
}

const NO_MODELS = 'No models are offered on this instance: its operator has not set AI_MODELS.';

/** /models, /switch <model> and the model buttons. */
export function modelsFeature(deps: BotDeps): Composer<Context> {
  const feature = new Composer<Context>();
  const choice = deps.models;

  /** What the LLM server serves now (GET /models), when it answers quickly. */
  const served = async (): Promise<string[] | undefined> =>
    deps.ai?.client.listModels({ signal: AbortSignal.timeout(2_000) }).catch(() => undefined);

  const show = async (ctx: Context & { from: { id: number } }) => {
    if (choice.available.length === 0) return ctx.reply(NO_MODELS);
    const settings = await deps.sessions.settings(ctx.from.id);
    const view = modelsView(choice, currentModel(choice, settings.model), await served());
    return replyHtml(ctx, view.text, view.keyboard);
  };

  feature.command('models', show);
  feature.action('models', async (ctx) => {
    await ctx.answerCbQuery();
    await show(ctx);
  });

  feature.command('switch', async (ctx) => {
    const wanted = ctx.payload.trim();
    if (choice.available.length === 0) return ctx.reply(NO_MODELS);
    if (!choice.available.includes(wanted)) {
      const list = choice.available.map((m) => `<code>${escapeHtml(m)}</code>`).join(', ');
      const what =
        wanted === '' ? 'Which model?' : `<code>${escapeHtml(wanted)}</code> is not offered here.`;
      // The model asked for is the user's text, up to a whole message long.
      return replyHtml(ctx, `${what} Choose one of: ${list}`);
    }
    await deps.sessions.updateSettings(ctx.from.id, { model: wanted });
    return ctx.reply(`Switched to <code>${escapeHtml(wanted)}</code>.`, { parse_mode: 'HTML' });
  });

  feature.action(/^model:(.+)$/, async (ctx) => {
    const wanted = ctx.match[1] ?? '';
    if (!choice.available.includes(wanted)) {
      await ctx.answerCbQuery('That model is no longer offered.');
      return;
    }
    const settings = await deps.sessions.updateSettings(ctx.from.id, { model: wanted });
    await ctx.answerCbQuery(`Switched to ${wanted}`);
    const view = modelsView(choice, currentModel(choice, settings.model));
    await editMessage(ctx, view.text, { parse_mode: 'HTML', ...view.keyboard });
  });
  return feature;
}
