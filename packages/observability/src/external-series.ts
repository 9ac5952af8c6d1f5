// Series the rules and dashboards read that Herald's own services do not export. The test
// that scrapes a running user-handler and news-publisher accepts exactly these as absent;
// every other name must exist in its Prometheus.

/**
 * vLLM's metrics that Herald reads, each on vLLM's documented list ("Production Metrics",
 * docs.vllm.ai/en/stable/usage/metrics), scraped from the inference Service.
 */
export const VLLM_DOCUMENTED_METRICS: ReadonlySet<string> = new Set([
  'vllm:num_requests_running',
  'vllm:num_requests_waiting',
  'vllm:kv_cache_usage_perc',
  'vllm:time_to_first_token_seconds_bucket',
  'vllm:inter_token_latency_seconds_bucket',
  'vllm:prompt_tokens_total',
  'vllm:generation_tokens_total',
]);

/** Other series from outside Herald's services, each with where it comes from. */
export const EXTERNAL_SERIES: ReadonlyMap<string, string> = new Map([
  [
    'herald_backup_last_success_timestamp_seconds',
    'pushed by the backup CronJob (packages/backup) to a Pushgateway when BACKUP_PUSHGATEWAY_URL is set',
  ],
  ['DCGM_FI_DEV_GPU_UTIL', "NVIDIA's DCGM exporter (GPU Operator), where it runs"],
  ['DCGM_FI_DEV_FB_USED', "NVIDIA's DCGM exporter (GPU Operator), where it runs"],
  ['DCGM_FI_DEV_FB_FREE', "NVIDIA's DCGM exporter (GPU Operator), where it runs"],
  ['DCGM_FI_DEV_POWER_USAGE', "NVIDIA's DCGM exporter (GPU Operator), where it runs"],
  ['kube_pod_container_status_restarts_total', 'kube-state-metrics'],
]);

/**
 * Herald series that a service exports only once it is wired to do so. The test fails when
 * one of these is present (then it belongs nowhere in this list) as much as when any other
 * series is missing.
 */
export const AWAITING_SERVICE_WIRING: ReadonlyMap<string, string> = new Map();
