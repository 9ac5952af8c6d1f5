/**
 * Cloud prices behind the cost page (inference/COSTS.md), each with its source and the
 * date it was read, and the monthly totals computed from them. A price that could not be
 * found is `null` and printed as such, never guessed.
 */

/** Hours in the average month (8,760 / 12), as cloud price pages count them. */
export const HOURS_PER_MONTH = 730;

/** Herald's whole-system budget, dollars per month. */
export const MONTHLY_BUDGET_USD = 500;

export interface PriceSource {
  url: string;
  /** The date the source shows, or the date it was read when it shows none. */
  date: string;
  note: string;
}

const SKYPILOT_AWS: PriceSource = {
  url: 'https://github.com/skypilot-org/skypilot-catalog/blob/001367d22a0033fac286a8c71aeac7109e431bcb/catalogs/v7/aws/vms.csv',
  date: 'read 2026-12-01',
  note: 'SkyPilot catalog of AWS list prices; Linux, us-east-1; spot: the range over us-east-1 zones',
};
const SKYPILOT_GCP: PriceSource = {
  url: 'https://github.com/skypilot-org/skypilot-catalog/blob/017e2502fb63c7a28757acd94002b2d6099d3e3d/catalogs/v7/gcp/vms.csv',
  date: 'read 2026-12-01',
  note: 'SkyPilot catalog of GCP list prices, us-central1; GPUs are priced apart from the VM',
};
const SILYBENCH: PriceSource = {
  url: 'https://github.com/tgarg01/silybench-data/blob/045df3bf56b8d62c58f108fc43cb397306b83331/derived/csv/gpu_prices.csv',
  date: 'checked 2026-09-25/26',
  note: 'transcribed from runpod.io/pricing, nebius.com/prices, lambda.ai/pricing and the GCP Cloud Billing catalog',
};
const POOLSIDE_EKS: PriceSource = {
  url: 'https://docs.poolside.ai/deployment/cloud/aws-eks/cost-modeling',
  date: 'as of April 2026',
  note: 'EKS control plane, $0.10 per cluster-hour',
};

/** One rentable machine (or line item) and what an hour of it costs. */
export interface HourlyPrice {
  cloud: string;
  sku: string;
  /** Dollars per hour on demand; null when not found. */
  onDemand: number | null;
  /** Dollars per hour on spot (the highest of the range found); null when not found. */
  spot: number | null;
  /** Dollars per hour with a 1-year commitment; null when not found. */
  committed: number | null;
  source: PriceSource;
  caveat?: string;
}

/** GPU machines for each serving profile (keys are profile ids), at least two clouds each. */
export const GPU_PRICES: Record<string, HourlyPrice[]> = {
  'l4-awq': [
    {
      cloud: 'AWS us-east-1',
      sku: 'g6.xlarge (1× L4, 4 vCPU, 16 GiB)',
      onDemand: 0.8048,
      spot: 0.4173,
      committed: null,
      source: SKYPILOT_AWS,
      caveat: 'spot 0.3879–0.4173 across zones',
    },
    {
      cloud: 'GCP us-central1',
      sku: 'L4 GPU of a g2-standard-4',
      onDemand: 0.56004,
      spot: 0.2231,
      committed: null,
      source: SKYPILOT_GCP,
      caveat: 'GPU only: the g2-standard-4 vCPU and memory price was not found in the sources read',
    },
  ],
  'l40s-fp8': [
    {
      cloud: 'AWS us-east-1',
      sku: 'g6e.xlarge (1× L40S, 4 vCPU, 32 GiB)',
      onDemand: 1.861,
      spot: 1.2079,
      committed: null,
      source: SKYPILOT_AWS,
      caveat: 'spot 0.787–1.2079 across zones',
    },
    {
      cloud: 'RunPod',
      sku: 'L40S, Secure Cloud',
      onDemand: 1.09,
      spot: 0.79,
      committed: null,
      source: SILYBENCH,
      caveat: 'the spot column is RunPod Community Cloud',
    },
    {
      cloud: 'Nebius',
      sku: 'L40S (Intel)',
      onDemand: 1.55,
      spot: null,
      committed: null,
      source: SILYBENCH,
    },
  ],
  'h100-bf16': [
    {
      cloud: 'GCP us-central1',
      sku: 'a3-highgpu-1g (1× H100 80 GB, 26 vCPU, 234 GiB)',
      onDemand: 5.38327,
      spot: 2.52493,
      committed: null,
      source: SKYPILOT_GCP,
      caveat:
        'H100 $4.20076 (half the 2-GPU row) + VM $1.18251; spot $2.253 + $0.27193. The Cloud Billing ' +
        'catalog read by silybench (2026-09-26) lists $10.9791 on demand and $6.571 spot for the same ' +
        'machine and says 1-GPU A3 shapes are Spot/Flex-start only: check before relying on it',
    },
    {
      cloud: 'AWS us-east-1',
      sku: '1/8 of p5.48xlarge (8× H100)',
      onDemand: 12.29,
      spot: 3.79075,
      committed: null,
      source: SKYPILOT_AWS,
      caveat: '$98.32/h ÷ 8, spot $20.99–30.33 ÷ 8; AWS rents these 8 GPUs together only',
    },
    {
      cloud: 'Lambda',
      sku: '1× H100 SXM',
      onDemand: 4.29,
      spot: null,
      committed: null,
      source: SILYBENCH,
    },
  ],
};

/** The rest of the system on AWS, where every price was found. */
export const PLATFORM_PRICES = {
  cpuNode: {
    cloud: 'AWS us-east-1',
    sku: 'm7i.large (2 vCPU, 8 GiB): user-handler ×2, news-publisher ×2, Postgres (CloudNativePG), Redis',
    onDemand: 0.1008,
    spot: 0.0383,
    committed: null,
    source: SKYPILOT_AWS,
  },
  controlPlane: {
    cloud: 'AWS',
    sku: 'EKS control plane',
    onDemand: 0.1,
    spot: null,
    committed: null,
    source: POOLSIDE_EKS,
  },
} satisfies Record<string, HourlyPrice>;

/**
 * Volumes the system needs (GiB): Postgres, Redis's AOF, the Hugging Face cache for the
 * default profile. Their per-GB price was not found in the sources read, so the totals
 * leave them out and say so.
 */
export const UNPRICED_VOLUMES_GIB = { postgres: 20, redis: 5, modelCache: 20 };

export const monthly = (hourly: number, hours = HOURS_PER_MONTH) => hourly * hours;

/** A whole-system setup on AWS with the default (L4) profile, priced per month. */
export interface SystemSetup {
  name: string;
  /** Dollars per hour of the GPU node and the hours per month it runs. */
  gpuHourly: number;
  gpuHours: number;
  cpuNodes: number;
}

export const DEFAULT_PROFILE_SETUPS: SystemSetup[] = [
  {
    name: 'all on demand, GPU always on',
    gpuHourly: 0.8048,
    gpuHours: HOURS_PER_MONTH,
    cpuNodes: 1,
  },
  { name: 'GPU on spot, always on', gpuHourly: 0.4173, gpuHours: HOURS_PER_MONTH, cpuNodes: 1 },
  {
    name: 'GPU on demand, scaled to zero 8 quiet hours a day',
    gpuHourly: 0.8048,
    gpuHours: (HOURS_PER_MONTH * 16) / 24,
    cpuNodes: 1,
  },
  {
    name: 'GPU on demand, scaled to zero 12 quiet hours a day',
    gpuHourly: 0.8048,
    gpuHours: HOURS_PER_MONTH / 2,
    cpuNodes: 1,
  },
  {
    name: 'GPU on spot, scaled to zero 8 quiet hours a day',
    gpuHourly: 0.4173,
    gpuHours: (HOURS_PER_MONTH * 16) / 24,
    cpuNodes: 1,
  },
  {
    name: 'GPU on spot, always on, a second CPU node',
    gpuHourly: 0.4173,
    gpuHours: HOURS_PER_MONTH,
    cpuNodes: 2,
  },
];

/** Monthly total of a setup: GPU node, CPU nodes, control plane (volumes not priced). */
export function setupMonthlyUsd(setup: SystemSetup): number {
  return (
    setup.gpuHourly * setup.gpuHours +
    setup.cpuNodes * monthly(PLATFORM_PRICES.cpuNode.onDemand) +
    monthly(PLATFORM_PRICES.controlPlane.onDemand)
  );
}

const usd = (n: number | null) => (n === null ? 'not found' : `$${n.toFixed(2)}`);
const hourly = (n: number | null) => (n === null ? 'not found' : `$${n}`);

/** The per-profile GPU price table of the cost page. */
export function renderGpuPriceTable(): string {
  const lines = [
    '| profile | cloud | machine | $/h on demand | $/month on demand | $/h spot | $/month spot | 1-year commitment | source |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [profile, prices] of Object.entries(GPU_PRICES)) {
    for (const p of prices) {
      const caveat = p.caveat ? ` (${p.caveat})` : '';
      lines.push(
        `| \`${profile}\` | ${p.cloud} | ${p.sku}${caveat} | ${hourly(p.onDemand)} | ` +
          `${usd(p.onDemand === null ? null : monthly(p.onDemand))} | ${hourly(p.spot)} | ` +
          `${usd(p.spot === null ? null : monthly(p.spot))} | ${usd(p.committed)} | ` +
          `[${p.source.date}](${p.source.url}) |`,
      );
    }
  }
  return lines.join('\n');
}

/** The whole-system table of the cost page: which setups stay under the budget. */
export function renderSystemTable(): string {
  const cpu = PLATFORM_PRICES.cpuNode;
  const plane = PLATFORM_PRICES.controlPlane;
  const lines = [
    `CPU node: ${cpu.sku}, ${hourly(cpu.onDemand)}/h = ${usd(monthly(cpu.onDemand))}/month ` +
      `([${cpu.source.date}](${cpu.source.url})). ${plane.sku}: ${hourly(plane.onDemand)}/h = ` +
      `${usd(monthly(plane.onDemand))}/month ([${plane.source.date}](${plane.source.url})).`,
    '',
    `| setup (AWS us-east-1, \`l4-awq\`) | GPU hours/month | GPU $/month | CPU nodes | total $/month | under $${MONTHLY_BUDGET_USD}? |`,
    '|---|---|---|---|---|---|',
  ];
  for (const s of DEFAULT_PROFILE_SETUPS) {
    const total = setupMonthlyUsd(s);
    lines.push(
      `| ${s.name} | ${Math.round(s.gpuHours)} | ${usd(s.gpuHourly * s.gpuHours)} | ${s.cpuNodes} | ` +
        `${usd(total)} | ${total < MONTHLY_BUDGET_USD ? 'yes' : 'no'} |`,
    );
  }
  return lines.join('\n');
}
