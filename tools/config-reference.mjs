#!/usr/bin/env node
// Prints the configuration reference (markdown) from each app's config spec: the README's section is this output.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { describeConfig } = require('@tidemark/config');
const apps = [
  ['gateway', 'gatewayConfigSpec'],
  ['journal-service', 'journalServiceConfigSpec'],
  ['merge-service', 'mergeServiceConfigSpec'],
  ['asset-service', 'assetServiceConfigSpec'],
  ['ops-api', 'opsApiConfigSpec'],
];
for (const [app, name] of apps) {
  const spec = require(`@tidemark/${app}`)[name];
  console.log(`### ${app}\n\n${describeConfig(spec)}\n`);
}
