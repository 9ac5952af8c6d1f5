/** One Kubernetes permission, as a Role rule names it. */
export interface Permission {
  /** API group: '' for the core group. */
  readonly group: string;
  readonly resource: string;
  readonly verbs: readonly string[];
}

const FIND_RELEASE: Permission = { group: 'apps', resource: 'deployments', verbs: ['list'] };
const LIST_PODS: Permission = { group: '', resource: 'pods', verbs: ['list'] };
// Websocket upgrades are authorized as `get` by older API servers and as `create` by
// newer ones (AuthorizePodWebsocketUpgradeCreatePermission), so a Role grants both.
const PORT_FORWARD: Permission = {
  group: '',
  resource: 'pods/portforward',
  verbs: ['get', 'create'],
};
const EXEC: Permission = { group: '', resource: 'pods/exec', verbs: ['get', 'create'] };
const READ_TOKEN: Permission = { group: '', resource: 'secrets', verbs: ['get'] };
const POD_LOGS: Permission = { group: '', resource: 'pods/log', verbs: ['get'] };
const CRONJOBS: Permission = { group: 'batch', resource: 'cronjobs', verbs: ['list'] };
const CREATE_JOBS: Permission = { group: 'batch', resource: 'jobs', verbs: ['create', 'get'] };
const HPAS: Permission = {
  group: 'autoscaling',
  resource: 'horizontalpodautoscalers',
  verbs: ['list'],
};

/** What reaching the admin API through a port forward takes. */
const ADMIN_API = [FIND_RELEASE, LIST_PODS, READ_TOKEN, PORT_FORWARD];
const RUN_JOB = [FIND_RELEASE, CRONJOBS, CREATE_JOBS, LIST_PODS, POD_LOGS];

/**
 * The permissions each command needs in Herald's namespace, named in "forbidden" errors
 * and in the README's Role. Keys are the command words (`dead-letters`, `restore`…).
 */
export const COMMAND_PERMISSIONS: Record<string, readonly Permission[]> = {
  status: [...ADMIN_API, HPAS, CRONJOBS],
  'dead-letters': ADMIN_API,
  news: ADMIN_API,
  users: ADMIN_API,
  'backup list': ADMIN_API,
  'backup now': RUN_JOB,
  restore: RUN_JOB,
  webhook: [FIND_RELEASE, LIST_PODS, EXEC],
  logs: [FIND_RELEASE, LIST_PODS, POD_LOGS],
};

/** Every permission any command needs, merged per resource: the rules of one Role. */
export function allPermissions(): Permission[] {
  const merged = new Map<string, { group: string; resource: string; verbs: Set<string> }>();
  for (const permissions of Object.values(COMMAND_PERMISSIONS)) {
    for (const { group, resource, verbs } of permissions) {
      const key = `${group}/${resource}`;
      const entry = merged.get(key) ?? { group, resource, verbs: new Set<string>() };
      for (const verb of verbs) entry.verbs.add(verb);
      merged.set(key, entry);
    }
  }
  return [...merged.values()].map(({ group, resource, verbs }) => ({
    group,
    resource,
    verbs: [...verbs].sort(),
  }));
}

/** `list pods, get pods/log, create jobs.batch`: permissions as `kubectl auth can-i` words. */
export function describePermissions(permissions: readonly Permission[]): string {
  return permissions
    .map(
      ({ group, resource, verbs }) => `${verbs.join('/')} ${resource}${group ? `.${group}` : ''}`,
    )
    .join(', ');
}

/** A namespaced Role (and its binding to `subject`) granting every command's permissions. */
export function roleManifest(namespace: string, subject = 'herald-operators'): string {
  const rules = allPermissions()
    .map(
      ({ group, resource, verbs }) =>
        `  - apiGroups: ["${group}"]\n    resources: ["${resource}"]\n    verbs: [${verbs
          .map((verb) => `"${verb}"`)
          .join(', ')}]`,
    )
    .join('\n');
  return [
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: Role',
    'metadata:',
    '  name: kubectl-herald',
    `  namespace: ${namespace}`,
    'rules:',
    rules,
    '---',
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: RoleBinding',
    'metadata:',
    '  name: kubectl-herald',
    `  namespace: ${namespace}`,
    'roleRef:',
    '  apiGroup: rbac.authorization.k8s.io',
    '  kind: Role',
    '  name: kubectl-herald',
    'subjects:',
    '  - apiGroup: rbac.authorization.k8s.io',
    '    kind: Group',
    `    name: ${subject}`,
    '',
  ].join('\n');
}
