#!/usr/bin/env node
// The `tidemark` command: runs the CLI on this process's arguments, environment and terminal.
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from './cli';

// A reader that stops early (`tidemark --help | head -2`) closes the pipe: end quietly, as Unix tools do,
// instead of crashing on EPIPE with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
});

void run(process.argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  fetch: globalThis.fetch,
  now: () => new Date(),
  sleep: (ms) => sleep(ms),
}).then((code) => {
  process.exitCode = code;
});
