#!/usr/bin/env node
// Writes docs/asyncapi.json, the AsyncAPI 3.0 document of the messages tidemark publishes on NATS, as
// journal-service builds it (and serves it at GET /v1/asyncapi.json) with its default configuration. Run it after
// changing a published payload schema (libs/contracts/src/messages) or the topology (libs/messaging); `--check`
// exits 1 when the committed file is out of date (a unit test runs it). Needs a build (npm run build) first.
//   node tools/asyncapi.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const OUTPUT = 'docs/asyncapi.json';

const { journalAsyncApi, journalServiceConfigSpec } = require('@tidemark/journal-service');
const defaults = (name) => journalServiceConfigSpec.schema.properties[name].default;
const document = journalAsyncApi({ partitions: defaults('JOURNAL_PARTITIONS'), duplicateWindowMs: defaults('JOURNAL_DUPLICATE_WINDOW_MS'), replicas: defaults('JOURNAL_REPLICAS') });
const generated = `${JSON.stringify(document, null, 2)}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(join(root, OUTPUT), 'utf8');
  } catch {
    // missing: out of date
  }
  if (current !== generated) {
    console.error(`${OUTPUT} is out of date: run node tools/asyncapi.mjs`);
    process.exit(1);
  }
} else {
  writeFileSync(join(root, OUTPUT), generated);
  console.log(`wrote ${OUTPUT}`);
}
