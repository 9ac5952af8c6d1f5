import { graph, heraldDashboard, NS, row } from '../panels.js';

/** vLLM as its own metrics show it, and the GPUs under it when DCGM's exporter runs. */
export function inferenceDashboard() {
  return heraldDashboard(
    'herald-inference',
    'Herald / Inference',
    'vLLM’s own metrics (requests running and waiting, KV cache, time to first token, inter-token latency, tokens/s) and, where the DCGM exporter runs, the GPUs.',
  )
    .withRow(row('vLLM'))
    .withPanel(
      graph(
        'Requests running and waiting',
        'Running: in the batch on the GPU. Waiting: queued for a slot (max-num-seqs or KV cache full); alerts while it keeps growing.',
        'short',
        [
          { expr: `sum(vllm:num_requests_running{${NS}})`, legend: 'running' },
          { expr: `sum(vllm:num_requests_waiting{${NS}})`, legend: 'waiting' },
        ],
      ),
    )
    .withPanel(
      graph(
        'KV cache in use',
        'Share of the KV-cache blocks in use per pod; near 1 new requests wait or are preempted.',
        'percentunit',
        [{ expr: `max by (instance) (vllm:kv_cache_usage_perc{${NS}})`, legend: '{{instance}}' }],
      ),
    )
    .withPanel(
      graph(
        'Time to first token',
        'vLLM’s own measure, queueing included; compare with Herald’s on the Bot dashboard.',
        's',
        [0.5, 0.95].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{${NS}}[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
      ),
    )
    .withPanel(
      graph(
        'Inter-token latency',
        'Time between two tokens of one answer: what a reader sees as streaming speed.',
        's',
        [0.5, 0.95].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(vllm:inter_token_latency_seconds_bucket{${NS}}[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
      ),
    )
    .withPanel(
      graph(
        'Tokens per second',
        'Prompt tokens read and tokens generated, all pods together.',
        'short',
        [
          {
            expr: `sum(rate(vllm:prompt_tokens_total{${NS}}[$__rate_interval]))`,
            legend: 'prompt',
          },
          {
            expr: `sum(rate(vllm:generation_tokens_total{${NS}}[$__rate_interval]))`,
            legend: 'generated',
          },
        ],
      ),
    )
    .withRow(row('GPU (DCGM exporter)'))
    .withPanel(
      graph(
        'GPU utilisation',
        'From NVIDIA’s DCGM exporter, where it runs; empty otherwise.',
        'percent',
        [
          {
            expr: `avg by (gpu, Hostname) (DCGM_FI_DEV_GPU_UTIL)`,
            legend: '{{Hostname}} GPU {{gpu}}',
          },
        ],
      ),
    )
    .withPanel(
      graph(
        'GPU memory used',
        'Frame buffer in use; vLLM reserves most of it up front (gpuMemoryUtilization).',
        'percentunit',
        [
          {
            expr: `avg by (gpu, Hostname) (DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE))`,
            legend: '{{Hostname}} GPU {{gpu}}',
          },
        ],
      ),
    )
    .withPanel(
      graph('GPU power', 'Power draw in watts.', 'watt', [
        {
          expr: `avg by (gpu, Hostname) (DCGM_FI_DEV_POWER_USAGE)`,
          legend: '{{Hostname}} GPU {{gpu}}',
        },
      ]),
    );
}
