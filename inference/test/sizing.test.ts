import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import {
  DEFAULT_PROFILE_SETUPS,
  GPU_PRICES,
  MONTHLY_BUDGET_USD,
  setupMonthlyUsd,
} from '../src/costs.js';
import { generatedFiles, INFERENCE_DIR } from '../src/docs.js';
import { PROFILES, PROMPT_OVERHEAD_TOKENS } from '../src/profiles.js';
import {
  DEEPSEEK_R1_DISTILL_QWEN_14B as MODEL,
  kvCacheBytesPerToken,
  parameterCounts,
  RUNTIME_RESERVE_BYTES,
  sizeProfile,
  weightBytes,
} from '../src/sizing.js';

/** The `inference.*` keys of the deploy contract (values the chart accepts). */
const CONTRACT_KEYS = [
  'enabled',
  'image',
  'replicas',
  'model',
  'servedModelName',
  'quantization',
  'maxModelLen',
  'gpuMemoryUtilization',
  'maxNumSeqs',
  'enablePrefixCaching',
  'reasoningParser',
  'dtype',
  'extraArgs',
  'gpu',
  'resources',
  'nodeSelector',
  'tolerations',
  'affinity',
  'modelCache',
  'shmSize',
  'hfToken',
  'startupProbe',
  'hourlyPriceUsd',
];

describe('the arithmetic of the 14B model', () => {
  it('counts the 14.7B parameters of the model card from the config', () => {
    const counts = parameterCounts(MODEL);

    expect(counts.total).toBe(14_770_033_664);
    // The card's "13.1B non-embedding" counts lm_head as embedding.
    expect((counts.total - counts.embedding - counts.lmHead) / 1e9).toBeCloseTo(13.2, 1);
  });

  it('takes 196,608 bytes of KV cache per token: 2 × 48 layers × 8 KV heads × 128 × 2 bytes', () => {
    expect(kvCacheBytesPerToken(MODEL)).toBe(2 * 48 * 8 * 128 * 2);
    expect(kvCacheBytesPerToken(MODEL, 1)).toBe(98_304);
  });

  it('sizes the weights as the published checkpoints weigh', () => {
    // casperhansen/deepseek-r1-distill-qwen-14b-awq: two 4.99 GB shards.
    expect(Math.abs(weightBytes(MODEL, 'awq') / 1e9 - 9.98)).toBeLessThan(0.05);
    // Qwen/Qwen2.5-14B bf16 shards: 3.89 + 4 + 4 + 4 + 3.98 + 4 + 4 + 1.7 GB.
    expect(Math.abs(weightBytes(MODEL, 'bf16') / 1e9 - 29.57)).toBeLessThan(0.1);
    expect(weightBytes(MODEL, 'fp8')).toBeLessThan(weightBytes(MODEL, 'bf16'));
    expect(weightBytes(MODEL, 'fp8')).toBeGreaterThan(weightBytes(MODEL, 'awq'));
  });
});

describe.each(PROFILES.map((p) => [p.id, p] as const))('serving profile %s', (_id, profile) => {
  const sizing = sizeProfile(profile);

  it('fits weights, runtime and at least one full-length sequence in the memory it may use', () => {
    const budget = profile.gpu.memoryMiB * 1024 ** 2 * profile.gpuMemoryUtilization;

    expect(sizing.weightBytes + RUNTIME_RESERVE_BYTES + sizing.kvCacheBytes).toBeCloseTo(
      budget,
      -3,
    );
    expect(sizing.sequencesAtMaxModelLen).toBeGreaterThanOrEqual(1);
  });

  it('never admits more sequences than fit at --max-model-len, so none is ever preempted', () => {
    expect(profile.maxNumSeqs).toBeLessThanOrEqual(sizing.sequencesAtMaxModelLen);
    expect(profile.maxNumSeqs).toBeGreaterThanOrEqual(1);
  });

  it("keeps Herald's longest request (history, prompt, answer) inside --max-model-len", () => {
    const longest = profile.heraldHistoryTokens + PROMPT_OVERHEAD_TOKENS + profile.heraldMaxTokens;

    expect(longest).toBeLessThanOrEqual(profile.maxModelLen);
    expect(profile.maxModelLen).toBeLessThanOrEqual(MODEL.maxPositionEmbeddings);
  });

  it("writes a values file with inference.* keys of the deploy contract and Herald's token limits", () => {
    const values = parse(readFileSync(`${INFERENCE_DIR}profiles/${profile.id}.yaml`, 'utf8')) as {
      inference: Record<string, unknown>;
      config: Record<string, unknown>;
    };

    expect(Object.keys(values)).toEqual(['inference', 'config']);
    // Requests Herald sends must fit --max-model-len, or vLLM refuses them with a 400.
    expect(values.config).toEqual({
      AI_MAX_TOKENS: String(profile.heraldMaxTokens),
      AI_HISTORY_TOKENS: String(profile.heraldHistoryTokens),
    });
    for (const key of Object.keys(values.inference)) expect(CONTRACT_KEYS).toContain(key);
    expect(values.inference).toMatchObject({
      maxModelLen: profile.maxModelLen,
      maxNumSeqs: profile.maxNumSeqs,
      gpuMemoryUtilization: profile.gpuMemoryUtilization,
      enablePrefixCaching: true,
      reasoningParser: 'deepseek_r1',
      quantization: profile.quantization ?? '',
    });
  });
});

describe('the docs', () => {
  it('print the numbers sizing.ts and costs.ts compute (profiles, README and cost page)', async () => {
    for (const file of await generatedFiles()) {
      expect({
        path: file.path,
        content: readFileSync(`${INFERENCE_DIR}${file.path}`, 'utf8'),
      }).toEqual(file);
    }
  });

  it('price every profile on at least two clouds, each price with its source', () => {
    for (const profile of PROFILES) {
      const prices = GPU_PRICES[profile.id] ?? [];
      expect(new Set(prices.map((p) => p.cloud)).size).toBeGreaterThanOrEqual(2);
      for (const price of prices) expect(price.source.url).toMatch(/^https:\/\//);
    }
  });

  it('show a setup of the default profile that keeps the whole system under the budget', () => {
    const totals = DEFAULT_PROFILE_SETUPS.map(setupMonthlyUsd);

    expect(Math.min(...totals)).toBeLessThan(MONTHLY_BUDGET_USD);
    // Always on at on-demand prices does not fit: the cost page must say what does.
    expect(totals[0]).toBeGreaterThan(MONTHLY_BUDGET_USD);
    expect(PROFILES[0]?.hourlyPriceUsd).toBe(GPU_PRICES['l4-awq']?.[0]?.onDemand);
  });
});

describe("the chart's defaults", () => {
  it('are the default profile (L4, AWQ), so a plain install fits the budget', () => {
    const chart = parse(readFileSync(`${INFERENCE_DIR}../helm/herald/values.yaml`, 'utf8')) as {
      inference: Record<string, unknown>;
    };
    const profile = parse(readFileSync(`${INFERENCE_DIR}profiles/l4-awq.yaml`, 'utf8')) as {
      inference: Record<string, unknown>;
    };
    expect(chart.inference).toMatchObject(profile.inference);
  });
});
