/**
 * The arithmetic behind each vLLM serving profile: weight bytes, KV-cache bytes per token,
 * how many sequences fit, and the decode ceiling, all from the model's config.json and the
 * GPU's datasheet figures. The profile docs and the values files are generated from these
 * numbers, and a test checks that the flags follow from them.
 */

/** The fields of a Hugging Face `config.json` that size a Qwen2-architecture model. */
export interface ModelConfig {
  /** Hugging Face id of the checkpoint the numbers describe. */
  id: string;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  vocabSize: number;
  /** Untied: the output projection (lm_head) is a second vocab × hidden matrix. */
  tieWordEmbeddings: boolean;
  /** Qwen2 has biases on the q, k and v projections (none on o or the MLP). */
  attentionQkvBias: boolean;
  maxPositionEmbeddings: number;
}

/**
 * DeepSeek-R1-Distill-Qwen-14B: Qwen2.5-14B's architecture, fine-tuned. Values from its
 * config.json (identical to Qwen/Qwen2.5-14B's apart from token ids):
 * https://huggingface.co/unsloth/DeepSeek-R1-Distill-Qwen-14B-bnb-4bit/blame/5a80c10ee0e9d411fc33bf3377057d69a4938106/config.json
 * (`_name_or_path: deepseek-ai/DeepSeek-R1-Distill-Qwen-14B`) and Qwen2.5-14B's
 * https://huggingface.co/Sao10K/14B-Qwen2.5-Kunou-v1/blob/53e7bf96339631b76dab33619d5db42a93594aea/config.json
 * (`_name_or_path: Qwen/Qwen2.5-14B`); the model card states 48 layers, 40 query and
 * 8 KV heads, 14.7B parameters.
 */
export const DEEPSEEK_R1_DISTILL_QWEN_14B: ModelConfig = {
  id: 'deepseek-ai/DeepSeek-R1-Distill-Qwen-14B',
  hiddenSize: 5120,
  intermediateSize: 13824,
  numHiddenLayers: 48,
  numAttentionHeads: 40,
  numKeyValueHeads: 8,
  vocabSize: 152064,
  tieWordEmbeddings: false,
  attentionQkvBias: true,
  maxPositionEmbeddings: 131072,
};

/** What the serving GPU offers, as the cloud reports it and as its datasheet states. */
export interface GpuSpec {
  name: string;
  /** Memory the device reports (MiB), as AWS DescribeInstanceTypes lists it. */
  memoryMiB: number;
  /** Peak memory bandwidth, bytes per second. */
  memoryBandwidthBytesPerSecond: number;
  /** Where the bandwidth figure comes from. */
  source: string;
}

const GB = 1e9;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const GPUS = {
  l4: {
    name: 'NVIDIA L4 24 GB',
    memoryMiB: 22_888,
    memoryBandwidthBytesPerSecond: 300 * GB,
    source:
      'https://huggingface.co/spaces/Elfsong/gcp_allocator/blob/main/app.py (24 GB GDDR6 @ 300 GBps)',
  },
  l40s: {
    name: 'NVIDIA L40S 48 GB',
    memoryMiB: 45_776,
    memoryBandwidthBytesPerSecond: 864 * GB,
    source: 'https://www.itcreations.com/nvidia-gpu/nvidia-l40s-gpu-accelerator (864 GB/s)',
  },
  h100: {
    name: 'NVIDIA H100 SXM 80 GB',
    memoryMiB: 81_920,
    memoryBandwidthBytesPerSecond: 3350 * GB,
    source:
      'https://huggingface.co/spaces/Elfsong/gcp_allocator/blob/main/app.py (80 GB HBM3 @ 3.35 TBps)',
  },
} as const satisfies Record<string, GpuSpec>;

/**
 * How the weights are stored on the GPU. `awq`: 4-bit weights in groups of 128 with an
 * fp16 scale and a 4-bit zero point per group (AutoAWQ GEMM, served by vLLM's
 * awq_marlin kernels); `fp8`: one byte per weight with a per-tensor scale (vLLM's online
 * `--quantization fp8`); `bf16`: as trained. In every case only the decoder's linear layers
 * are quantized: embeddings, lm_head, biases and norms stay 16-bit.
 */
export type WeightFormat = 'awq' | 'fp8' | 'bf16';

export interface ParameterCounts {
  /** Weights of q, k, v, o and the MLP in all layers: what quantization shrinks. */
  linear: number;
  embedding: number;
  lmHead: number;
  /** q/k/v biases and RMSNorm weights: small, always 16-bit. */
  biasesAndNorms: number;
  total: number;
}

/** Parameters of the model, counted layer by layer from its config. */
export function parameterCounts(model: ModelConfig): ParameterCounts {
  const h = model.hiddenSize;
  const headDim = h / model.numAttentionHeads;
  const kvDim = model.numKeyValueHeads * headDim;
  const attention = h * h + 2 * h * kvDim + h * h;
  const mlp = 3 * h * model.intermediateSize;
  const linear = model.numHiddenLayers * (attention + mlp);
  const qkvBias = model.attentionQkvBias ? h + 2 * kvDim : 0;
  const biasesAndNorms = model.numHiddenLayers * (qkvBias + 2 * h) + h;
  const embedding = model.vocabSize * h;
  const lmHead = model.tieWordEmbeddings ? 0 : model.vocabSize * h;
  return {
    linear,
    embedding,
    lmHead,
    biasesAndNorms,
    total: linear + embedding + lmHead + biasesAndNorms,
  };
}

const AWQ_GROUP_SIZE = 128;

/** Bytes the weights take on the GPU in the given format. */
export function weightBytes(model: ModelConfig, format: WeightFormat): number {
  const p = parameterCounts(model);
  const sixteenBit = 2 * (p.embedding + p.lmHead + p.biasesAndNorms);
  if (format === 'bf16') return 2 * p.linear + sixteenBit;
  if (format === 'fp8') {
    // One fp32 scale per linear tensor (7 per layer): a rounding error, kept for honesty.
    return p.linear + 4 * 7 * model.numHiddenLayers + sixteenBit;
  }
  const groups = p.linear / AWQ_GROUP_SIZE;
  return p.linear / 2 + groups * 2 + groups / 2 + sixteenBit;
}

/**
 * Bytes read from GPU memory to decode one token, apart from the KV cache: every weight
 * once, except the embedding table, of which only the token's row is read.
 */
export function streamedWeightBytesPerToken(model: ModelConfig, format: WeightFormat): number {
  return weightBytes(model, format) - 2 * parameterCounts(model).embedding;
}

/** KV-cache bytes one token of context takes: K and V, every layer, every KV head. */
export function kvCacheBytesPerToken(model: ModelConfig, kvCacheBytesPerValue = 2): number {
  const headDim = model.hiddenSize / model.numAttentionHeads;
  return 2 * model.numHiddenLayers * model.numKeyValueHeads * headDim * kvCacheBytesPerValue;
}

/**
 * GPU memory vLLM keeps for itself besides weights and KV cache: CUDA context, cuBLAS
 * workspaces, the CUDA graph pool and the activation peak it profiles at start. An
 * estimate: compare it with vLLM's start-up log ("Available KV cache memory") and lower
 * `gpuMemoryUtilization` if the real figure leaves fewer KV blocks than the table says.
 */
export const RUNTIME_RESERVE_BYTES = 2 * GiB;

/** What an operator chooses for one profile: the GPU, the build, and vLLM's flags. */
export interface ServingProfile {
  /** File name under inference/profiles/ (without `.yaml`). */
  id: string;
  title: string;
  gpu: GpuSpec;
  /** The checkpoint vLLM loads. */
  model: string;
  weightFormat: WeightFormat;
  /** vLLM `--quantization` (omitted for bf16). */
  quantization: string | null;
  /** vLLM `--dtype` for activations. */
  dtype: 'float16' | 'bfloat16';
  maxModelLen: number;
  gpuMemoryUtilization: number;
  maxNumSeqs: number;
  /** Typical Herald request (prompt, reasoning and answer) the throughput figures assume. */
  typicalSequenceTokens: number;
  /** Herald's AI_MAX_TOKENS and AI_HISTORY_TOKENS that keep requests inside maxModelLen. */
  heraldMaxTokens: number;
  heraldHistoryTokens: number;
  /** Volume for the Hugging Face cache (weights plus headroom), as a Kubernetes quantity. */
  modelCacheSize: string;
  /** What one hour of the GPU node costs (the cost page's reference price). */
  hourlyPriceUsd: number;
}

/** Every figure of a profile, computed. */
export interface ProfileSizing {
  weightBytes: number;
  streamedBytesPerToken: number;
  kvCacheBytesPerToken: number;
  /** gpuMemoryUtilization × memory, less weights and runtime reserve. */
  kvCacheBytes: number;
  kvCacheTokens: number;
  /** Sequences of maxModelLen tokens that fit at once: no request is ever preempted. */
  sequencesAtMaxModelLen: number;
  /** Sequences of the typical length that fit at once. */
  sequencesAtTypicalLength: number;
  /** Decode ceiling of one sequence, at the typical length. */
  singleSequenceTokensPerSecond: number;
  /** Decode ceiling of maxNumSeqs sequences together, each at the typical length. */
  batchTokensPerSecond: number;
  /** The batch figure per sequence: what each user sees when the server is full. */
  batchTokensPerSecondPerSequence: number;
}

/**
 * Decode ceiling: tokens per second a memory-bound decoder can reach, `sequences` at a
 * time, each with `contextTokens` of KV cache. Each step reads the weights once for the
 * whole batch and every sequence's KV cache; compute is assumed not to bind (true for
 * batch sizes in the tens on these GPUs).
 */
export function decodeTokensPerSecond(
  bandwidthBytesPerSecond: number,
  streamedBytesPerToken: number,
  kvBytesPerToken: number,
  contextTokens: number,
  sequences = 1,
): number {
  const bytesPerStep = streamedBytesPerToken + sequences * contextTokens * kvBytesPerToken;
  return (sequences * bandwidthBytesPerSecond) / bytesPerStep;
}

/** All the figures of one profile, from the model config and the GPU. */
export function sizeProfile(
  profile: ServingProfile,
  model: ModelConfig = DEEPSEEK_R1_DISTILL_QWEN_14B,
): ProfileSizing {
  const weights = weightBytes(model, profile.weightFormat);
  const streamed = streamedWeightBytesPerToken(model, profile.weightFormat);
  const kvPerToken = kvCacheBytesPerToken(model);
  const budget = profile.gpu.memoryMiB * MiB * profile.gpuMemoryUtilization;
  const kvCacheBytes = Math.max(0, budget - weights - RUNTIME_RESERVE_BYTES);
  const kvCacheTokens = Math.floor(kvCacheBytes / kvPerToken);
  const bandwidth = profile.gpu.memoryBandwidthBytesPerSecond;
  const single = decodeTokensPerSecond(
    bandwidth,
    streamed,
    kvPerToken,
    profile.typicalSequenceTokens,
  );
  const batch = decodeTokensPerSecond(
    bandwidth,
    streamed,
    kvPerToken,
    profile.typicalSequenceTokens,
    profile.maxNumSeqs,
  );
  return {
    weightBytes: weights,
    streamedBytesPerToken: streamed,
    kvCacheBytesPerToken: kvPerToken,
    kvCacheBytes,
    kvCacheTokens,
    sequencesAtMaxModelLen: Math.floor(kvCacheTokens / profile.maxModelLen),
    sequencesAtTypicalLength: Math.floor(kvCacheTokens / profile.typicalSequenceTokens),
    singleSequenceTokensPerSecond: single,
    batchTokensPerSecond: batch,
    batchTokensPerSecondPerSequence: batch / profile.maxNumSeqs,
  };
}
