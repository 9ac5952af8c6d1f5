import { z } from '@herald/config';

/** The model local mode suggests pulling when no LLM answers. */
export const SUGGESTED_MODEL = 'deepseek-r1:14b';

/** An OpenAI-compatible server on this machine and the model local mode chats with. */
export interface LocalLlm {
  baseUrl: string;
  /** The chat models it serves, the chosen one first. */
  models: string[];
  model: string;
}

export type LocalLlmProbe =
  | { found: true; llm: LocalLlm }
  | { found: false; why: 'no_answer' | 'no_models'; baseUrl: string };

const modelList = z.object({ data: z.array(z.object({ id: z.string().min(1) })) });

// Embedding models are listed beside chat models (Ollama lists every pulled model) but
// cannot chat.
const isChatModel = (id: string) => !/embed/i.test(id);

/**
 * The model to chat with: `preferred` when served, else a DeepSeek-R1 distill (the model
 * Herald's prompts are tuned for), else the first.
 */
export function chooseModel(ids: readonly string[], preferred?: string): string | undefined {
  if (preferred !== undefined && ids.includes(preferred)) return preferred;
  return ids.find((id) => /deepseek-r1/i.test(id)) ?? ids[0];
}

/**
 * Asks the OpenAI-compatible server at `baseUrl` (a local Ollama by default) which models
 * it serves. Local mode calls this at boot when AI_BASE_URL is unset, so the timeout is
 * short: nothing listening is the common case and must not hold up the console.
 */
export async function probeLocalLlm(
  baseUrl: string,
  options: { timeoutMs: number; preferredModel?: string | undefined },
): Promise<LocalLlmProbe> {
  const root = baseUrl.replace(/\/+$/, '');
  let ids: string[];
  try {
    const response = await fetch(`${root}/models`, {
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (!response.ok) return { found: false, why: 'no_answer', baseUrl: root };
    ids = modelList.parse(await response.json()).data.map((model) => model.id);
  } catch {
    // Refused, timed out, or not an OpenAI-compatible answer: no usable server there.
    return { found: false, why: 'no_answer', baseUrl: root };
  }
  const chat = ids.filter(isChatModel);
  const model = chooseModel(chat, options.preferredModel);
  if (model === undefined) return { found: false, why: 'no_models', baseUrl: root };
  return {
    found: true,
    llm: { baseUrl: root, model, models: [model, ...chat.filter((id) => id !== model)] },
  };
}

/** Local mode's settings with the local LLM as the endpoint of the chat and the news judge. */
export function withLocalLlm<
  Env extends {
    AI_BASE_URL?: string | undefined;
    AI_MODELS: string[];
    AI_DEFAULT_MODEL?: string | undefined;
  },
>(env: Env, llm: LocalLlm): Env {
  return { ...env, AI_BASE_URL: llm.baseUrl, AI_MODELS: llm.models, AI_DEFAULT_MODEL: llm.model };
}

/** The banner's AI lines: the LLM in use, or how to get one. */
export function describeAi(
  env: { AI_BASE_URL?: string | undefined; AI_DEFAULT_MODEL?: string | undefined },
  probe: LocalLlmProbe | undefined,
): string[] {
  if (probe === undefined) {
    return [
      `AI: ${env.AI_BASE_URL}${env.AI_DEFAULT_MODEL ? `, model ${env.AI_DEFAULT_MODEL}` : ''}`,
    ];
  }
  if (probe.found) return [`AI: Ollama at ${probe.llm.baseUrl}, model ${probe.llm.model}`];
  const pull = `\`ollama pull ${SUGGESTED_MODEL}\``;
  return probe.why === 'no_models'
    ? [
        `AI: none, so fallback answers: Ollama at ${probe.baseUrl} has no chat model.`,
        `    Run ${pull} and restart, or set AI_BASE_URL to an OpenAI-compatible endpoint.`,
      ]
    : [
        `AI: none, so fallback answers: nothing answered at ${probe.baseUrl}.`,
        `    Set AI_BASE_URL to an OpenAI-compatible endpoint, or install Ollama and run ${pull}, then restart.`,
      ];
}
