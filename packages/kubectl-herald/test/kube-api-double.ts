// A Kubernetes API server double on loopback: the JSON of pods, deployments, HPAs, secrets,
// cronjobs, jobs and namespaces; pod logs; and the websocket port-forward and exec
// subresources (channel protocol v4). Errors are `Status` objects with the reason, code
// and message shapes the real API server sends, so the plugin's error handling meets
// what it meets in a cluster.
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** A Kubernetes object as JSON. */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    creationTimestamp?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

/** One request as the double received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The resource path: `pods`, `pods/portforward`, `jobs`… */
  resource: string;
  namespace?: string;
  name?: string;
  body?: KubeObject;
  websocket: boolean;
}

/** What a Job's pod does once the double creates it: its log and its outcome. */
export interface JobRun {
  logs: string[];
  succeeded: boolean;
}

/** What a command exec'ed in a pod printed and how it ended. */
export interface ExecRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const RESOURCES: Record<string, { group: string; version: string; kind: string }> = {
  pods: { group: '', version: 'v1', kind: 'Pod' },
  secrets: { group: '', version: 'v1', kind: 'Secret' },
  deployments: { group: 'apps', version: 'v1', kind: 'Deployment' },
  horizontalpodautoscalers: {
    group: 'autoscaling',
    version: 'v2',
    kind: 'HorizontalPodAutoscaler',
  },
  cronjobs: { group: 'batch', version: 'v1', kind: 'CronJob' },
  jobs: { group: 'batch', version: 'v1', kind: 'Job' },
};

/** `a=b,c!=d,e`: the equality-based label selectors kubectl herald sends. */
function matchesSelector(
  labels: Record<string, string> | undefined,
  selector: string | null,
): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [key, value] = term.includes('!=')
      ? term.split('!=')
      : term.includes('==')
        ? term.split('==')
        : term.split('=');
    if (value === undefined) return labels?.[key!] !== undefined;
    if (term.includes('!=')) return labels?.[key!] !== value;
    return labels?.[key!] === value;
  });
}

function status(code: number, reason: string, message: string, details?: object) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** The API server double; `kubeconfigPath` is a kubeconfig file whose context points at it. */
export interface KubeApiDouble {
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly requests: RecordedRequest[];
  /** Creates or replaces objects (their namespace must exist with {@link addNamespace}). */
  add(resource: keyof typeof RESOURCES, ...objects: KubeObject[]): void;
  get(resource: keyof typeof RESOURCES, namespace: string, name: string): KubeObject | undefined;
  list(resource: keyof typeof RESOURCES, namespace: string): KubeObject[];
  addNamespace(name: string): void;
  /** Denies `verb` on `resource` (`pods`, `pods/portforward`…) as RBAC would. */
  forbid(verb: string, resource: string): void;
  /** The log lines `pods/<pod>/log` returns. */
  setPodLog(pod: string, lines: string[]): void;
  /** Where a pod's port forward leads: a port on 127.0.0.1. */
  forwardPod(pod: string, localPort: number): void;
  onExec(run: (pod: string, container: string, command: string[]) => Promise<ExecRun>): void;
  onJob(run: (job: KubeObject) => JobRun): void;
  close(): Promise<void>;
}

/** Starts the double and writes a kubeconfig for it (context `double`, namespace `herald`). */
export async function startKubeApiDouble(
  options: { namespace?: string; user?: string } = {},
): Promise<KubeApiDouble> {
  const token = randomBytes(16).toString('hex');
  const user = options.user ?? 'alice';
  const store = new Map<string, KubeObject>();
  const namespaces = new Set<string>();
  const forbidden = new Set<string>();
  const podLogs = new Map<string, string[]>();
  const forwards = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket | Duplex>();
  let execRun: (
    pod: string,
    container: string,
    command: string[],
  ) => Promise<ExecRun> = async () => ({
    stdout: '',
    stderr: 'no exec handler in the double',
    exitCode: 1,
  });
  let jobRun: (job: KubeObject) => JobRun = () => ({ logs: [], succeeded: true });
  let resourceVersion = 1;

  const key = (resource: string, namespace: string, name: string) =>
    `${resource}/${namespace}/${name}`;
  const put = (resource: string, object: KubeObject) => {
    const namespace = object.metadata.namespace ?? 'default';
    const meta = RESOURCES[resource]!;
    store.set(key(resource, namespace, object.metadata.name), {
      apiVersion: meta.group ? `${meta.group}/${meta.version}` : meta.version,
      kind: meta.kind,
      ...object,
      metadata: {
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString(),
        resourceVersion: String(resourceVersion++),
        ...object.metadata,
        namespace,
      },
    });
  };
  const list = (resource: string, namespace: string) =>
    [...store.entries()]
      .filter(([entry]) => entry.startsWith(`${resource}/${namespace}/`))
      .map(([, object]) => object);

  /** The request's target, parsed like the API server's request info. */
  function route(url: URL) {
    const core = /^\/api\/v1\/namespaces\/([^/]+)(?:\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?)?$/.exec(
      url.pathname,
    );
    const grouped =
      /^\/apis\/([^/]+)\/([^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?$/.exec(
        url.pathname,
      );
    if (core) {
      const [, namespace, resource, name, subresource] = core;
      if (!resource)
        return { group: '', resource: 'namespaces', namespace: undefined, name: namespace };
      return {
        group: '',
        resource: subresource ? `${resource}/${subresource}` : resource,
        namespace,
        name,
      };
    }
    if (grouped) {
      const [, group, , namespace, resource, name, subresource] = grouped;
      return {
        group: group!,
        resource: subresource ? `${resource}/${subresource}` : resource!,
        namespace,
        name,
      };
    }
    return undefined;
  }

  function verbOf(method: string, name: string | undefined, resource: string): string {
    if (resource.endsWith('/portforward') || resource.endsWith('/exec')) return 'create';
    if (method === 'GET') return name ? 'get' : 'list';
    if (method === 'POST') return 'create';
    if (method === 'DELETE') return 'delete';
    return method.toLowerCase();
  }

  /** 401/403 as the real server words them, or undefined when the request may go on. */
  function refusal(request: IncomingMessage, target: NonNullable<ReturnType<typeof route>>) {
    if (request.headers.authorization !== `Bearer ${token}`) {
      return status(401, 'Unauthorized', 'Unauthorized');
    }
    const verb = verbOf(request.method ?? 'GET', target.name, target.resource);
    if (!forbidden.has(`${verb} ${target.resource}`)) return undefined;
    const base = target.resource.split('/')[0]!;
    const subject =
      target.name && target.resource !== 'namespaces' ? `${base} "${target.name}"` : base;
    const scope = target.namespace
      ? ` in the namespace "${target.namespace}"`
      : ' at the cluster scope';
    return status(
      403,
      'Forbidden',
      `${subject} is forbidden: User "${user}" cannot ${verb} resource "${target.resource}" in API group "${target.group}"${scope}`,
      { ...(target.name ? { name: target.name } : {}), kind: base },
    );
  }

  function send(response: ServerResponse, code: number, body: unknown) {
    response.writeHead(code, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  }

  function createJob(namespace: string, job: KubeObject) {
    put('jobs', job);
    const stored = store.get(key('jobs', namespace, job.metadata.name))!;
    const outcome = jobRun(stored);
    const podName = `${job.metadata.name}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const template = (
      stored.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: unknown } }
    ).template;
    put('pods', {
      metadata: {
        name: podName,
        namespace,
        labels: {
          ...template.metadata?.labels,
          'job-name': job.metadata.name,
          'batch.kubernetes.io/job-name': job.metadata.name,
        },
      },
      spec: template.spec,
      status: {
        phase: outcome.succeeded ? 'Succeeded' : 'Failed',
        containerStatuses: [
          {
            name: 'backup',
            ready: false,
            restartCount: 0,
            image: 'backup',
            imageID: '',
            state: {
              terminated: {
                exitCode: outcome.succeeded ? 0 : 1,
                reason: outcome.succeeded ? 'Completed' : 'Error',
              },
            },
          },
        ],
      },
    });
    podLogs.set(podName, outcome.logs);
    stored.status = outcome.succeeded
      ? { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }
      : {
          failed: 1,
          conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }],
        };
    return stored;
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://double');
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const target = route(url);
      const body = raw ? (JSON.parse(raw) as KubeObject) : undefined;
      requests.push({
        method: request.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        resource: target?.resource ?? '',
        namespace: target?.namespace,
        name: target?.name,
        body,
        websocket: false,
      });
      if (!target)
        return send(
          response,
          404,
          status(404, 'NotFound', 'the server could not find the requested resource'),
        );
      const refused = refusal(request, target);
      if (refused) return send(response, refused.code, refused);
      const { resource, namespace, name } = target;
      if (resource === 'namespaces') {
        return namespaces.has(name!)
          ? send(response, 200, {
              apiVersion: 'v1',
              kind: 'Namespace',
              metadata: { name },
              status: { phase: 'Active' },
            })
          : send(
              response,
              404,
              status(404, 'NotFound', `namespaces "${name}" not found`, {
                name,
                kind: 'namespaces',
              }),
            );
      }
      if (resource === 'pods/log') {
        const lines = podLogs.get(name!);
        if (!lines || !store.has(key('pods', namespace!, name!))) {
          return send(
            response,
            404,
            status(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' }),
          );
        }
        const tail = Number(url.searchParams.get('tailLines') ?? 0);
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end((tail ? lines.slice(-tail) : lines).map((line) => `${line}\n`).join(''));
        return;
      }
      const meta = RESOURCES[resource];
      if (!meta)
        return send(
          response,
          404,
          status(404, 'NotFound', 'the server could not find the requested resource'),
        );
      if (request.method === 'GET' && !name) {
        const items = list(resource, namespace!).filter((object) =>
          matchesSelector(object.metadata.labels, url.searchParams.get('labelSelector')),
        );
        return send(response, 200, {
          apiVersion: meta.group ? `${meta.group}/${meta.version}` : meta.version,
          kind: `${meta.kind}List`,
          metadata: { resourceVersion: String(resourceVersion) },
          items,
        });
      }
      if (request.method === 'GET') {
        const object = store.get(key(resource, namespace!, name!));
        return object
          ? send(response, 200, object)
          : send(
              response,
              404,
              status(
                404,
                'NotFound',
                `${resource}${meta.group ? `.${meta.group}` : ''} "${name}" not found`,
                { name, group: meta.group, kind: resource },
              ),
            );
      }
      if (request.method === 'POST' && resource === 'jobs' && body) {
        if (!namespaces.has(namespace!)) {
          return send(
            response,
            404,
            status(404, 'NotFound', `namespaces "${namespace}" not found`, {
              name: namespace,
              kind: 'namespaces',
            }),
          );
        }
        if (store.has(key('jobs', namespace!, body.metadata.name))) {
          return send(
            response,
            409,
            status(409, 'AlreadyExists', `jobs.batch "${body.metadata.name}" already exists`, {
              name: body.metadata.name,
              group: 'batch',
              kind: 'jobs',
            }),
          );
        }
        const created = createJob(namespace!, {
          ...body,
          metadata: { ...body.metadata, namespace },
        });
        return send(response, 201, { ...created, status: {} });
      }
      send(
        response,
        405,
        status(
          405,
          'MethodNotAllowed',
          `the server does not allow this method on the requested resource`,
        ),
      );
    });
  });

  // Channel protocol v4 (as the API server speaks it for exec and port-forward).
  const websockets = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) =>
      protocols.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false,
  });

  function portForward(socket: WebSocket, pod: string, namespace: string, port: number) {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    socket.send(Buffer.concat([Buffer.from([0]), portBytes]));
    socket.send(Buffer.concat([Buffer.from([1]), portBytes]));
    const target = forwards.get(pod);
    const fail = (message: string) => {
      socket.send(Buffer.concat([Buffer.from([1]), Buffer.from(message)]));
      socket.close();
    };
    if (!store.has(key('pods', namespace, pod)) || target === undefined) {
      return fail(`error forwarding port ${port} to pod ${pod}: connection refused`);
    }
    const upstream = connect(target, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('data', (chunk: Buffer) => socket.send(Buffer.concat([Buffer.from([0]), chunk])));
    upstream.on('error', (error) =>
      fail(`error forwarding port ${port} to pod ${pod}: ${error.message}`),
    );
    upstream.on('close', () => socket.close());
    socket.on('message', (data: Buffer) => {
      if (data[0] === 0) upstream.write(data.subarray(1));
    });
    socket.on('close', () => upstream.end());
  }

  async function exec(socket: WebSocket, pod: string, query: URLSearchParams) {
    const run = await execRun(pod, query.get('container') ?? '', query.getAll('command'));
    if (run.stdout) socket.send(Buffer.concat([Buffer.from([1]), Buffer.from(run.stdout)]));
    if (run.stderr) socket.send(Buffer.concat([Buffer.from([2]), Buffer.from(run.stderr)]));
    const ended =
      run.exitCode === 0
        ? { metadata: {}, status: 'Success' }
        : {
            metadata: {},
            status: 'Failure',
            message: `command terminated with non-zero exit code: error executing command [${query.getAll('command').join(' ')}], exit code ${run.exitCode}`,
            reason: 'NonZeroExitCode',
            details: { causes: [{ reason: 'ExitCode', message: String(run.exitCode) }] },
          };
    socket.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(ended))]));
    socket.close();
  }

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const url = new URL(request.url ?? '/', 'http://double');
    const target = route(url);
    requests.push({
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      resource: target?.resource ?? '',
      namespace: target?.namespace,
      name: target?.name,
      websocket: true,
    });
    const refused = target ? refusal(request, target) : status(404, 'NotFound', 'not found');
    if (refused || !target) {
      const body = JSON.stringify(refused);
      const reasonPhrase =
        refused?.code === 403 ? 'Forbidden' : refused?.code === 401 ? 'Unauthorized' : 'Not Found';
      socket.end(
        `HTTP/1.1 ${refused?.code ?? 404} ${reasonPhrase}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    websockets.handleUpgrade(request, socket, head, (ws) => {
      if (target.resource === 'pods/portforward') {
        portForward(ws, target.name!, target.namespace!, Number(url.searchParams.get('ports')));
      } else if (target.resource === 'pods/exec') {
        void exec(ws, target.name!, url.searchParams);
      } else {
        ws.close();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = await mkdtemp(join(tmpdir(), 'kube-double-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  // client-node refuses plain http unless TLS verification is off: the double speaks http.
  await writeFile(
    kubeconfigPath,
    `apiVersion: v1
kind: Config
clusters:
  - name: double
    cluster:
      server: ${url}
      insecure-skip-tls-verify: true
users:
  - name: ${user}
    user:
      token: ${token}
contexts:
  - name: double
    context:
      cluster: double
      user: ${user}
      namespace: ${options.namespace ?? 'herald'}
current-context: double
`,
  );

  return {
    url,
    kubeconfigPath,
    requests,
    add: (resource, ...objects) => objects.forEach((object) => put(resource, object)),
    get: (resource, namespace, name) => store.get(key(resource, namespace, name)),
    list: (resource, namespace) => list(resource, namespace),
    addNamespace: (name) => namespaces.add(name),
    forbid: (verb, resource) => forbidden.add(`${verb} ${resource}`),
    setPodLog: (pod, lines) => podLogs.set(pod, lines),
    forwardPod: (pod, localPort) => forwards.set(pod, localPort),
    onExec: (run) => (execRun = run),
    onJob: (run) => (jobRun = run),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      websockets.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
