import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { validate } from 'dockerfile-utils';

/** One instruction of a Dockerfile, continuation lines joined. */
export interface Instruction {
  keyword: string;
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

/** Every Herald Dockerfile: `services/<name>/Dockerfile` and `packages/<name>/Dockerfile`. */
export function findDockerfiles(repositoryRoot: string): string[] {
  const found: string[] = [];
  for (const group of ['services', 'packages']) {
    for (const name of readdirSync(join(repositoryRoot, group)).sort()) {
      const path = join(repositoryRoot, group, name, 'Dockerfile');
      if (existsSync(path)) found.push(path);
    }
  }
  return found;
}

/** Problems dockerfile-utils finds (errors and warnings alike), as `line N: message`. */
export function lintDockerfile(text: string): string[] {
  return validate(text).map((d) => {
    const message = typeof d.message === 'string' ? d.message : d.message.value;
    return `line ${d.range.start.line + 1}: ${message}`;
  });
}

/** The instructions of a Dockerfile (comments and parser directives dropped). */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && !pending)) return;
    const continued = line.endsWith('\\');
    const part = continued ? line.slice(0, -1).trim() : line;
    pending ??= { parts: [], line: index + 1 };
    pending.parts.push(part);
    if (continued) return;
    const joined = pending.parts.join(' ').trim();
    const space = joined.search(/\s/);
    instructions.push({
      keyword: (space === -1 ? joined : joined.slice(0, space)).toUpperCase(),
      args: space === -1 ? '' : joined.slice(space + 1).trim(),
      line: pending.line,
    });
    pending = undefined;
  });
  return instructions;
}

/** The image a FROM names, without `--platform=…` flags or `AS stage`. */
function fromImage(args: string): string {
  return args.split(/\s+/).find((word) => !word.startsWith('--')) ?? '';
}

/** The instructions of the last stage: what the image runs. */
export function runtimeStage(instructions: readonly Instruction[]): Instruction[] {
  const start = instructions.map((i) => i.keyword).lastIndexOf('FROM');
  return instructions.slice(Math.max(start, 0));
}

/** The Node.js release every `node:<version>-…` FROM names, e.g. `24.22.3`. */
export function nodeVersions(text: string): string[] {
  return parseDockerfile(text)
    .filter((i) => i.keyword === 'FROM')
    .map((i) => /^node:([0-9.]+)-/.exec(fromImage(i.args))?.[1])
    .filter((version): version is string => version !== undefined);
}

const OCI_LABELS_FROM_ARGS = ['source', 'revision', 'version'];

/**
 * What a Dockerfile breaks of Herald's image contract: Node 24 slim or distroless at run time,
 * user 10001:10001, WORKDIR /app, NODE_ENV=production, an exec-form command (so SIGTERM reaches
 * node), OCI labels from build args, and a `<Dockerfile>.dockerignore` keeping node_modules and
 * .env files out of the context. Empty when it keeps all of it.
 */
export function contractProblems(path: string): string[] {
  const problems: string[] = [];
  const runtime = runtimeStage(parseDockerfile(readFileSync(path, 'utf8')));
  const all = (keyword: string) => runtime.filter((i) => i.keyword === keyword);

  const base = fromImage(runtime[0]?.args ?? '');
  if (!/^node:24(\.\d+){0,2}-\S*slim$|^gcr\.io\/distroless\/nodejs24-/.test(base)) {
    problems.push(`runtime stage is FROM ${base}: use a pinned node:24.x slim or distroless image`);
  }
  const users = all('USER');
  if (users.at(-1)?.args !== '10001:10001') {
    problems.push(`the runtime user is ${users.at(-1)?.args ?? 'root'}: set USER 10001:10001`);
  }
  if (all('WORKDIR').at(-1)?.args !== '/app') problems.push('WORKDIR of the runtime is not /app');
  if (!all('ENV').some((i) => /(^|\s)NODE_ENV=production(\s|$)/.test(i.args))) {
    problems.push('the runtime does not set ENV NODE_ENV=production');
  }
  const commands = [...all('CMD'), ...all('ENTRYPOINT')];
  if (commands.length === 0) problems.push('no CMD or ENTRYPOINT in the runtime stage');
  for (const command of commands) {
    if (!command.args.startsWith('[')) {
      problems.push(
        `line ${command.line}: ${command.keyword} in shell form: /bin/sh would get SIGTERM, not node; use the JSON (exec) form`,
      );
    }
  }
  const labels = all('LABEL')
    .map((i) => i.args)
    .join(' ');
  for (const label of OCI_LABELS_FROM_ARGS) {
    if (!new RegExp(`org\\.opencontainers\\.image\\.${label}="?\\$`).test(labels)) {
      problems.push(`no LABEL org.opencontainers.image.${label} set from a build arg`);
    }
  }
  const ignorePath = join(dirname(path), `${basename(path)}.dockerignore`);
  if (!existsSync(ignorePath)) {
    problems.push(
      `no ${basename(ignorePath)} beside it: the whole repository would be the context`,
    );
  } else {
    const ignored = readFileSync(ignorePath, 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/.env']) {
      if (!ignored.includes(entry))
        problems.push(`${basename(ignorePath)} does not ignore ${entry}`);
    }
  }
  return problems;
}
