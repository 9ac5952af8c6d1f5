#!/usr/bin/env node
// `kubectl herald …`: kubectl runs this as `kubectl-herald …` when it is on the PATH.
import { runCli } from './cli.js';
import type { CommandContext } from './context.js';

let current: CommandContext | undefined;

// Ctrl-C while following a Job: the Job goes on without us, and the operator should know.
process.once('SIGINT', () => {
  if (current?.interruptNotice) process.stderr.write(`\n${current.interruptNotice}\n`);
  process.exit(130);
});

/* eslint-disable no-restricted-properties -- a CLI's environment is its configuration; read once, here */
const code = await runCli(
  process.argv.slice(2),
  {
    out: process.stdout,
    err: process.stderr,
    input: process.stdin,
    adminToken: process.env.HERALD_ADMIN_TOKEN || undefined,
    user: process.env.USER || undefined,
    nowMs: Date.now,
  },
  (ctx) => (current = ctx),
);
/* eslint-enable no-restricted-properties */
// Port forwards and keep-alive sockets may still hold the event loop; the work is done.
process.exit(code);
