import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Manifest, RenderedObject } from '../src/chart.js';
import { findObject, objectsOf, podsOf, renderAll, type ValueSetName } from './helpers.js';

interface Peer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: Record<string, unknown>;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { port: number; protocol: string }[];
}
interface PolicySpec {
  podSelector: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values: string[] }[];
  };
  policyTypes: string[];
  ingress?: Rule[];
  egress?: Rule[];
}

let rendered: Record<ValueSetName, Manifest[]>;
beforeAll(async () => {
  rendered = await renderAll();
});

const spec = (policy: RenderedObject) => policy.spec as PolicySpec;
const ports = (rules: Rule[] | undefined) =>
  (rules ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
const peerComponents = (rule: Rule) =>
  [...(rule.from ?? []), ...(rule.to ?? [])].map(
    (peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/component'],
  );

/** Whether a policy's pod selector picks a pod with these labels. */
function selects(policy: PolicySpec, labels: Record<string, string>): boolean {
  const { matchLabels = {}, matchExpressions = [] } = policy.podSelector;
  return (
    Object.entries(matchLabels).every(([key, value]) => labels[key] === value) &&
    matchExpressions.every((e) =>
      e.operator === 'NotIn'
        ? !e.values.includes(labels[e.key] ?? '')
        : e.values.includes(labels[e.key] ?? ''),
    )
  );
}

describe('network policies', () => {
  it.each(['default', 'production', 'everything'] as const)(
    'with the %s values every Herald pod is under a default deny of ingress and egress',
    (name) => {
      const deny = spec(findObject(rendered[name], 'NetworkPolicy', 'herald-default-deny'));
      expect(deny.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(deny.ingress).toBeUndefined();
      expect(deny.egress).toBeUndefined();
      for (const { owner, labels } of podsOf(rendered[name])) {
        expect({ owner, denied: selects(deny, labels) }).toEqual({ owner, denied: true });
      }
    },
  );

  it('every workload has a policy of its own that opens only its flows', () => {
    const policies = objectsOf(rendered.everything, 'NetworkPolicy')
      .map((p) => p.metadata.name)
      .sort();
    expect(policies).toEqual([
      'herald-backup',
      'herald-default-deny',
      'herald-dns',
      'herald-inference',
      'herald-migrations',
      'herald-news-publisher',
      'herald-postgresql',
      'herald-redis',
      'herald-test',
      'herald-user-handler',
      'herald-webhook',
    ]);
  });

  it('lets every pod resolve names, and nothing else, through the DNS policy', () => {
    const dns = spec(findObject(rendered.default, 'NetworkPolicy', 'herald-dns'));
    expect(dns.policyTypes).toEqual(['Egress']);
    expect(dns.egress).toEqual([
      {
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ]);
  });

  it('the webhook port is open to the Ingress controller; the admin port only within the namespace', () => {
    const policy = spec(findObject(rendered.everything, 'NetworkPolicy', 'herald-user-handler'));
    const admin = policy.ingress!.find((rule) => rule.ports?.some((p) => p.port === 8081))!;
    expect(admin.from).toEqual([{ podSelector: {} }]);
    expect(ports(policy.ingress).sort()).toEqual([8080, 8080, 8080, 8081]);
    const production = spec(
      findObject(rendered.production, 'NetworkPolicy', 'herald-user-handler'),
    );
    expect(production.ingress![0]).toEqual({
      from: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
      ],
      ports: [{ protocol: 'TCP', port: 8080 }],
    });
  });

  it('the services reach Postgres, Redis and vLLM, and the internet on 443/80 but no private range', () => {
    for (const name of ['herald-user-handler', 'herald-news-publisher']) {
      const egress = spec(findObject(rendered.default, 'NetworkPolicy', name)).egress!;
      expect(ports(egress).sort((a, b) => a - b)).toEqual([80, 443, 5432, 6379, 8000]);
      const internet = egress.find((rule) => rule.ports?.some((p) => p.port === 443))!;
      expect(internet.to![0]!.ipBlock).toEqual({
        cidr: '0.0.0.0/0',
        except: [
          '10.0.0.0/8',
          '172.16.0.0/12',
          '192.168.0.0/16',
          '169.254.0.0/16',
          '100.64.0.0/10',
          '127.0.0.0/8',
        ],
      });
      const redis = egress.find((rule) => rule.ports?.some((p) => p.port === 6379))!;
      expect(peerComponents(redis)).toEqual(['redis']);
    }
  });

  it("Redis and vLLM accept only Herald's services (and Prometheus for vLLM)", () => {
    const redis = spec(findObject(rendered.default, 'NetworkPolicy', 'herald-redis'));
    expect(redis.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(redis.ingress!.flatMap(peerComponents)).toEqual(['user-handler', 'news-publisher']);
    const vllm = spec(findObject(rendered.default, 'NetworkPolicy', 'herald-inference'));
    expect(
      vllm.ingress![0]!.from!.map(
        (p) => p.podSelector?.matchLabels?.['app.kubernetes.io/component'],
      ),
    ).toEqual(['user-handler', 'news-publisher', 'test']);
    expect(vllm.ingress![1]!.from![0]!.podSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'prometheus' },
    });
  });

  it('Prometheus may scrape /metrics of every service', () => {
    for (const name of ['herald-user-handler', 'herald-news-publisher', 'herald-inference']) {
      const ingress = spec(findObject(rendered.default, 'NetworkPolicy', name)).ingress!;
      const prometheus = ingress.find((rule) =>
        rule.from?.some(
          (peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus',
        ),
      );
      expect({ name, port: prometheus?.ports?.[0]?.port }).toEqual({
        name,
        port: name === 'herald-inference' ? 8000 : 8080,
      });
    }
  });

  it('the migrations reach only Postgres; the webhook hook only the internet', () => {
    expect(
      spec(findObject(rendered.everything, 'NetworkPolicy', 'herald-migrations')).egress,
    ).toEqual([
      {
        to: [{ podSelector: { matchLabels: { 'cnpg.io/cluster': 'herald-postgresql' } } }],
        ports: [{ protocol: 'TCP', port: 5432 }],
      },
    ]);
    expect(
      ports(spec(findObject(rendered.everything, 'NetworkPolicy', 'herald-webhook')).egress),
    ).toEqual([443, 80]);
  });

  it('the Postgres instances accept Herald, each other and the CloudNativePG operator', () => {
    const policy = spec(findObject(rendered.default, 'NetworkPolicy', 'herald-postgresql'));
    expect(policy.podSelector).toEqual({ matchLabels: { 'cnpg.io/cluster': 'herald-postgresql' } });
    expect(policy.policyTypes).toEqual(['Ingress']);
    expect(
      policy.ingress![0]!.from!.map(
        (p) => p.podSelector?.matchLabels?.['app.kubernetes.io/component'],
      ),
    ).toEqual(['user-handler', 'news-publisher', 'migrations', 'backup']);
    expect(policy.ingress![2]!.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'cnpg-system' } } },
    ]);
  });
});
