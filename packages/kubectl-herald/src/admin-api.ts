import type { z } from 'zod';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { CliError } from './errors.js';
import type { Cluster } from './cluster.js';
import { COMMAND_PERMISSIONS, describePermissions } from './permissions.js';
import { forwardPort, type Forwarded } from './port-forward.js';

const TOKEN_KEY = 'ADMIN_API_TOKEN';
const DEFAULT_ADMIN_PORT = 8081;

/** An `{ error, message }` body, the admin API's error shape. */
interface AdminErrorBody {
  error?: string;
  message?: string;
}

/**
 * A client of the user-handler's admin API (`/admin/v1/…`): bearer token, the operator named
 * in `X-Herald-Actor` for the audit log, and errors turned into {@link CliError}s.
 */
export class AdminApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly actor: string | undefined,
    /** Says where the API is, for messages: "pod herald-user-handler-x via port-forward". */
    private readonly where: string,
    /** Why the connection failed underneath (the port forward's error), when known. */
    private readonly underlyingFailure: () => CliError | undefined = () => undefined,
  ) {}

  /** GET a path and return the parsed JSON body. */
  get(path: string): Promise<unknown> {
    return this.request('GET', path);
  }

  /** POST to a path (no body) and return the parsed JSON body. */
  post(path: string): Promise<unknown> {
    return this.request('POST', path);
  }

  /** DELETE a path and return the parsed JSON body. */
  delete(path: string): Promise<unknown> {
    return this.request('DELETE', path);
  }

  private async request(method: string, path: string): Promise<unknown> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
    };
    if (this.actor) headers['x-herald-actor'] = this.actor;
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), { method, headers });
    } catch (error) {
      const underlying = this.underlyingFailure();
      if (underlying) throw underlying;
      const reason = error instanceof Error ? (causeOf(error) ?? error.message) : String(error);
      throw new CliError(
        `cannot reach the admin API (${this.where}): ${reason}`,
        'check that the user-handler is up (`kubectl herald status`) and admin.enabled is set in the chart',
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (response.ok) {
      if (body === undefined) {
        throw new CliError(
          `the admin API answered ${method} ${path} with something other than JSON (HTTP ${response.status})`,
          `is ${this.where} really Herald's admin port? Check --admin-url`,
        );
      }
      return body;
    }
    const { error, message } = (body ?? {}) as AdminErrorBody;
    if (response.status === 401) {
      throw new CliError(
        `the admin API refused the token (401${message ? `: ${message}` : ''})`,
        `pass the ${TOKEN_KEY} of the release's Secret with --token or $HERALD_ADMIN_TOKEN, or leave both out to read it from the Secret`,
      );
    }
    throw new CliError(
      `${message ?? `the admin API answered ${method} ${path} with HTTP ${response.status}`}` +
        ` (${error ?? 'error'}, HTTP ${response.status})`,
    );
  }
}

/** undici's "fetch failed" hides the reason (ECONNREFUSED…) in `cause`. */
function causeOf(error: Error): string | undefined {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : undefined;
}

/** How to reach and authenticate to the admin API. */
export interface AdminConnectionOptions {
  /** `--admin-url`: use this address instead of a port forward (e.g. inside the cluster). */
  adminUrl?: string;
  /** `--token` or $HERALD_ADMIN_TOKEN: skips reading the Secret. */
  token?: string;
  /** Named in the audit log when the kubeconfig has no user name. */
  fallbackActor?: string;
  command: string;
}

/** An open connection to the admin API; `close` ends its port forward. */
export interface AdminConnection {
  readonly api: AdminApi;
  close(): Promise<void>;
}

/**
 * Connects to the admin API: `--admin-url` as given, else a port forward to a ready
 * user-handler pod's `admin` port. The token is `--token`/$HERALD_ADMIN_TOKEN, else read
 * from the Secret the pod's `ADMIN_API_TOKEN` comes from.
 */
export async function connectAdminApi(
  cluster: () => Cluster,
  options: AdminConnectionOptions,
): Promise<AdminConnection> {
  if (options.adminUrl && options.token) {
    return {
      api: new AdminApi(options.adminUrl, options.token, options.fallbackActor, options.adminUrl),
      close: async () => undefined,
    };
  }
  const kube = cluster();
  const actor = kube.userName ?? options.fallbackActor;
  const pod = await kube.readyPod('user-handler');
  const container = userHandlerContainer(pod);
  if (options.adminUrl) {
    const token = options.token ?? (await readToken(kube, pod, container));
    return {
      api: new AdminApi(options.adminUrl, token, actor, options.adminUrl),
      close: async () => undefined,
    };
  }
  const port = container.ports?.find((candidate) => candidate.name === 'admin')?.containerPort;
  const podName = pod.metadata?.name ?? '';
  if (!port) {
    throw new CliError(
      `the admin API is off in release "${await kube.release()}": pod ${podName} has no "admin" port`,
      `enable it with \`helm upgrade … --set admin.enabled=true\` and an ${TOKEN_KEY} of 32+ characters in the Secret (default port ${DEFAULT_ADMIN_PORT})`,
    );
  }
  const token = options.token ?? (await readToken(kube, pod, container));
  const forwarded: Forwarded = await forwardPort(kube.kubeConfig, kube.namespace, podName, port);
  const where = `pod ${podName} port ${port} through a port forward`;
  return {
    api: new AdminApi(forwarded.url, token, actor, where, () =>
      explainForwardFailure(forwarded.lastError(), kube, options.command, podName),
    ),
    close: () => forwarded.close(),
  };
}

function userHandlerContainer(pod: V1Pod): V1Container {
  const containers = pod.spec?.containers ?? [];
  const container =
    containers.find((candidate) => candidate.name === 'user-handler') ?? containers[0];
  if (!container) throw new CliError(`pod ${pod.metadata?.name} has no containers`);
  return container;
}

/** Finds where the pod's ADMIN_API_TOKEN comes from (a Secret key, normally) and reads it. */
async function readToken(cluster: Cluster, pod: V1Pod, container: V1Container): Promise<string> {
  const variable = container.env?.find((candidate) => candidate.name === TOKEN_KEY);
  if (variable?.value) return variable.value;
  const reference = variable?.valueFrom?.secretKeyRef;
  if (reference?.name) {
    const value = await cluster.secretValue(reference.name, reference.key);
    if (value) return value;
  }
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    if (!source.secretRef?.name || !TOKEN_KEY.startsWith(prefix)) continue;
    const value = await cluster.secretValue(source.secretRef.name, TOKEN_KEY.slice(prefix.length));
    if (value) return value;
  }
  throw new CliError(
    `pod ${pod.metadata?.name} has no ${TOKEN_KEY} in its environment, so there is no token to read`,
    `set admin.enabled=true and ${TOKEN_KEY} in the chart's Secret, or pass --token / $HERALD_ADMIN_TOKEN`,
  );
}

function explainForwardFailure(
  text: string | undefined,
  cluster: Cluster,
  command: string,
  pod: string,
): CliError | undefined {
  if (!text) return undefined;
  if (/\b403\b/.test(text)) {
    return new CliError(
      `forbidden: the API server refused the port forward to pod ${pod} (${text})`,
      `kubectl herald ${command} needs, in namespace "${cluster.namespace}": ` +
        `${describePermissions(COMMAND_PERMISSIONS[command] ?? [])}; ` +
        `or pass --admin-url and --token to reach the admin API another way`,
    );
  }
  return new CliError(
    `the port forward to pod ${pod} failed: ${text}`,
    'retry; if it persists, check the pod with `kubectl herald status`',
  );
}

/**
 * Checks an admin API answer against what this plugin renders; a mismatch means the plugin
 * and the cluster run different Herald versions.
 */
export function parseAnswer<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
  throw new CliError(
    `the admin API's answer to ${what} is not what this kubectl-herald expects (${issues})`,
    'use the kubectl-herald of the Herald version the cluster runs, or -o json to see the raw answer',
  );
}
