import { existsSync, readFileSync } from 'node:fs';
import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { CliError, UsageError } from './errors.js';
import { COMMAND_PERMISSIONS, describePermissions } from './permissions.js';

/** The chart's labels (helm/herald/templates/_helpers.tpl), which every lookup selects on. */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
} as const;

const HERALD = 'herald';

/** How to reach the cluster: the flags kubectl itself takes. */
export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  release?: string;
  /** The command being run (`restore`, `dead-letters`…): names the permissions it needs. */
  command: string;
}

/** What a Kubernetes `Status` error body says. */
interface KubeStatus {
  message?: string;
  reason?: string;
  code?: number;
  details?: { kind?: string; name?: string };
}

function parseStatus(body: unknown): KubeStatus | undefined {
  if (typeof body === 'object' && body !== null) return body;
  if (typeof body !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The HTTP status of a failed API call, or undefined when the server was not reached. */
export function apiStatusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/**
 * One Herald release in one namespace of one cluster: the kubeconfig context, the typed API
 * clients, and the lookups every command shares. Failures come out as {@link CliError}s that
 * say what to do (the flag to pass, the permission to ask for).
 */
export class Cluster {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly autoscaling: AutoscalingV2Api;
  readonly batch: BatchV1Api;
  private releaseName: Promise<string> | undefined;

  private constructor(
    readonly kubeConfig: KubeConfig,
    readonly contextName: string,
    readonly namespace: string,
    private readonly options: ClusterOptions,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.autoscaling = kubeConfig.makeApiClient(AutoscalingV2Api);
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
  }

  /**
   * Reads the kubeconfig the way kubectl does: `--kubeconfig`, else `$KUBECONFIG`, else
   * ~/.kube/config, else the pod's service account (inside the cluster).
   */
  static load(options: ClusterOptions): Cluster {
    const kubeConfig = new KubeConfig();
    if (options.kubeconfig) {
      if (!existsSync(options.kubeconfig)) {
        throw new UsageError(
          `kubeconfig ${options.kubeconfig} does not exist`,
          'pass --kubeconfig with the path of an existing file, or leave it out to use $KUBECONFIG or ~/.kube/config',
        );
      }
      try {
        kubeConfig.loadFromFile(options.kubeconfig);
      } catch (error) {
        throw new CliError(
          `cannot read the kubeconfig ${options.kubeconfig}: ${error instanceof Error ? error.message : String(error)}`,
          'pass --kubeconfig with a valid kubeconfig file',
        );
      }
    } else {
      try {
        kubeConfig.loadFromDefault();
      } catch (error) {
        throw new CliError(
          `cannot read the kubeconfig: ${error instanceof Error ? error.message : String(error)}`,
          'check $KUBECONFIG, or pass --kubeconfig with the file to use',
        );
      }
      const cluster = kubeConfig.getCurrentCluster();
      // client-node's last resort when it found nothing: an unauthenticated localhost:8080.
      if (cluster?.name === 'cluster' && cluster.server === 'http://localhost:8080') {
        throw new CliError(
          'no kubeconfig: $KUBECONFIG is unset, ~/.kube/config does not exist, and this is not a pod with a service account',
          'pass --kubeconfig, set $KUBECONFIG, or write ~/.kube/config (your cloud CLI or `kind export kubeconfig` does)',
        );
      }
    }
    if (options.context) {
      if (!kubeConfig.getContextObject(options.context)) {
        const known = kubeConfig.getContexts().map((context) => context.name);
        throw new UsageError(
          `no context "${options.context}" in the kubeconfig`,
          known.length
            ? `pass --context with one of: ${known.join(', ')}`
            : 'the kubeconfig has no contexts: point --kubeconfig at one that does',
        );
      }
      kubeConfig.setCurrentContext(options.context);
    }
    const contextName = kubeConfig.getCurrentContext();
    if (!kubeConfig.getCurrentCluster()) {
      throw new CliError(
        `the kubeconfig's current context "${contextName}" names no cluster`,
        'pick a context with --context, or fix it with `kubectl config use-context <name>`',
      );
    }
    const namespace =
      options.namespace ||
      kubeConfig.getContextObject(contextName)?.namespace ||
      podNamespace() ||
      'default';
    return new Cluster(kubeConfig, contextName, namespace, options);
  }

  /** The API server's URL, for messages. */
  get server(): string {
    return this.kubeConfig.getCurrentCluster()?.server ?? '(none)';
  }

  /** The kubeconfig user's name: who the admin API's audit log names as the actor. */
  get userName(): string | undefined {
    const name = this.kubeConfig.getCurrentUser()?.name;
    // In a pod, client-node names the service account's user "inClusterUser": no one.
    return name && name !== 'inClusterUser' ? name : undefined;
  }

  /**
   * Runs one API call; a failure becomes a {@link CliError} naming `action` ("list pods")
   * and saying what to do about it.
   */
  async call<T>(action: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw this.explain(action, error);
    }
  }

  /** Turns a failed API call into an error the operator can act on. */
  explain(action: string, error: unknown): CliError {
    if (error instanceof CliError) return error;
    const where = `namespace "${this.namespace}" (context "${this.contextName}")`;
    if (!(error instanceof ApiException)) {
      const reason = error instanceof Error ? error.message : String(error);
      return new CliError(
        `cannot reach the Kubernetes API server at ${this.server} to ${action}: ${reason}`,
        `check the cluster with \`kubectl cluster-info --context ${this.contextName}\`, or pick another with --context / --kubeconfig`,
      );
    }
    const status = parseStatus(error.body);
    const message = status?.message ?? `HTTP ${error.code}`;
    if (error.code === 401) {
      return new CliError(
        `the Kubernetes API server refused your credentials (401) to ${action}`,
        `log in again for context "${this.contextName}" (e.g. refresh your cloud CLI's token), or pick another with --context`,
      );
    }
    if (error.code === 403) {
      const needed = COMMAND_PERMISSIONS[this.options.command] ?? [];
      const verb = /cannot (\w+) resource/.exec(message)?.[1] ?? action.split(' ')[0];
      const resource = status?.details?.kind ?? action.split(' ').slice(1).join(' ');
      return new CliError(
        `forbidden: ${message}`,
        `kubectl herald ${this.options.command} needs, in namespace "${this.namespace}": ` +
          `${describePermissions(needed)}. Ask a cluster admin to bind you a Role with them ` +
          `(\`kubectl herald rbac -n ${this.namespace}\` prints one); check with ` +
          `\`kubectl auth can-i ${verb} ${resource} -n ${this.namespace}\``,
      );
    }
    return new CliError(`could not ${action} in ${where}: ${message} (HTTP ${error.code})`);
  }

  /**
   * The Helm release to act on: `--release` when given (checked to exist), else the only
   * Herald release in the namespace.
   */
  release(): Promise<string> {
    this.releaseName ??= this.findRelease();
    return this.releaseName;
  }

  private async findRelease(): Promise<string> {
    const deployments = await this.call('list deployments', () =>
      this.apps.listNamespacedDeployment({
        namespace: this.namespace,
        labelSelector: `${LABELS.name}=${HERALD}`,
      }),
    );
    const releases = [
      ...new Set(
        deployments.items
          .map((deployment) => deployment.metadata?.labels?.[LABELS.instance])
          .filter((name): name is string => Boolean(name)),
      ),
    ].sort();
    const wanted = this.options.release;
    if (wanted && releases.includes(wanted)) return wanted;
    if (releases.length === 0) await this.requireNamespace();
    if (wanted) {
      throw new CliError(
        `no Herald release "${wanted}" in namespace "${this.namespace}"`,
        releases.length
          ? `releases here: ${releases.join(', ')}; pass --release with one of them`
          : `no Herald release is installed here: pass -n with Herald's namespace (\`helm list -A\` shows where it is)`,
      );
    }
    if (releases.length === 1) return releases[0]!;
    if (releases.length > 1) {
      throw new UsageError(
        `${releases.length} Herald releases in namespace "${this.namespace}": ${releases.join(', ')}`,
        'pass --release with the one to act on',
      );
    }
    throw new CliError(
      `no Herald release in namespace "${this.namespace}" (no deployment labelled ${LABELS.name}=${HERALD})`,
      'pass -n with the namespace Herald is installed in (`helm list -A` shows it), or --release if it has another name',
    );
  }

  /** Fails with "namespace not found" when it is; says nothing when it exists or can't be read. */
  private async requireNamespace(): Promise<void> {
    try {
      await this.core.readNamespace({ name: this.namespace });
    } catch (error) {
      if (apiStatusCode(error) === 404) {
        throw new CliError(
          `namespace "${this.namespace}" does not exist in context "${this.contextName}"`,
          'pass -n with the namespace Herald is installed in (`kubectl get namespaces` lists them)',
        );
      }
      // Reading namespaces is a cluster-scoped permission many operators lack; the caller's
      // "no release here" message still says what to do.
    }
  }

  /** The selector of the release's objects, or of one component's. */
  async selector(component?: string): Promise<string> {
    const release = await this.release();
    const selector = `${LABELS.name}=${HERALD},${LABELS.instance}=${release}`;
    return component ? `${selector},${LABELS.component}=${component}` : selector;
  }

  /** The release's pods, or one component's, by name. */
  async pods(component?: string): Promise<V1Pod[]> {
    const labelSelector = await this.selector(component);
    const pods = await this.call('list pods', () =>
      this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }),
    );
    return pods.items.sort((a, b) =>
      (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
    );
  }

  /** A running, ready pod of `component`, to port-forward or exec into. */
  async readyPod(component: string): Promise<V1Pod> {
    const pods = await this.pods(component);
    const ready = pods.find(isReady);
    if (ready) return ready;
    const release = await this.release();
    throw new CliError(
      pods.length
        ? `no ready ${component} pod in release "${release}" (${pods.length} not ready)`
        : `no ${component} pod in release "${release}" in namespace "${this.namespace}"`,
      pods.length
        ? '`kubectl herald status` shows why; retry once one is ready'
        : `check that the chart enables it, and \`kubectl get deploy -n ${this.namespace} -l ${LABELS.instance}=${release}\``,
    );
  }

  /** Reads one key of a Secret, decoded. */
  async secretValue(name: string, key: string): Promise<string | undefined> {
    const secret = await this.call(`get secrets`, () =>
      this.core.readNamespacedSecret({ name, namespace: this.namespace }),
    );
    const encoded = secret.data?.[key];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
  }
}

/** Inside a pod, kubectl's default namespace is the pod's own. */
function podNamespace(): string | undefined {
  const file = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

/** Running, Ready and not on its way out. */
export function isReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    !pod.metadata?.deletionTimestamp &&
    (pod.status.conditions ?? []).some(
      (condition) => condition.type === 'Ready' && condition.status === 'True',
    )
  );
}
