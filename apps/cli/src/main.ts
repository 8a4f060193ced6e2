#!/usr/bin/env node
// The `tidemark` command: runs the CLI on this process's arguments, environment and terminal.
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from './cli';

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
