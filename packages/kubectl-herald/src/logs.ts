import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { Log, type V1Pod } from '@kubernetes/client-node';
import type { Cluster } from './cluster.js';
import type { CommandContext } from './context.js';
import { CliError, UsageError } from './errors.js';

/** The chart's components (app.kubernetes.io/component), the names `logs` takes. */
export const COMPONENTS = [
  'user-handler',
  'news-publisher',
  'inference',
  'redis',
  'postgresql',
  'backup',
  'migrations',
  'webhook',
] as const;

/** How many lines of each pod's past to show before following (kubectl's -l default is 10). */
const DEFAULT_TAIL_LINES = 100;

/** Which container of a pod holds the component's own process. */
function mainContainer(pod: V1Pod, component?: string): string {
  const containers = pod.spec?.containers ?? [];
  return (
    containers.find((container) => container.name === component)?.name ?? containers[0]?.name ?? ''
  );
}

/**
 * Streams the logs of `pods` line by line to `write` (each line with its pod), following
 * them while `follow` holds; resolves once every stream has ended.
 */
export async function streamPodLogs(
  cluster: Cluster,
  pods: V1Pod[],
  options: {
    follow: boolean;
    tailLines?: number;
    component?: string;
    write: (pod: string, line: string) => void;
  },
): Promise<void> {
  const log = new Log(cluster.kubeConfig);
  await Promise.all(
    pods.map(async (pod) => {
      const name = pod.metadata?.name ?? '';
      const stream = new PassThrough();
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      const ended = new Promise<void>((resolve) => lines.on('close', resolve));
      lines.on('line', (line) => options.write(name, line));
      await cluster.call('get pods/log', () =>
        log.log(cluster.namespace, name, mainContainer(pod, options.component), stream, {
          follow: options.follow,
          tailLines: options.tailLines,
        }),
      );
      await ended;
    }),
  );
}

/** `logs <component>`: follows the component's pods' logs, each line prefixed by its pod. */
export async function followComponentLogs(ctx: CommandContext): Promise<void> {
  const [component = ''] = ctx.positionals(['component']);
  if (!(COMPONENTS as readonly string[]).includes(component)) {
    throw new UsageError(
      `"${component}" is not a Herald component`,
      `pass one of: ${COMPONENTS.join(', ')}`,
    );
  }
  const cluster = ctx.cluster();
  const pods = await cluster.pods(component);
  if (pods.length === 0) {
    throw new CliError(
      `no ${component} pods in release "${await cluster.release()}" in namespace "${cluster.namespace}"`,
      `\`kubectl herald status\` lists the release's pods; is ${component} enabled in the chart?`,
    );
  }
  const json = ctx.output.format === 'json';
  await streamPodLogs(cluster, pods, {
    follow: ctx.options.follow,
    tailLines: ctx.options.tailLines ?? DEFAULT_TAIL_LINES,
    component,
    write: (pod, line) =>
      ctx.output.out.write(json ? `${JSON.stringify({ pod, line })}\n` : `[${pod}] ${line}\n`),
  });
}
