import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeConfig } from '@tidemark/config';
import { gatewayConfigSpec } from '@tidemark/gateway';
import { journalServiceConfigSpec } from '@tidemark/journal-service';
import { mergeServiceConfigSpec } from '@tidemark/merge-service';
import { assetServiceConfigSpec } from '@tidemark/asset-service';
import { opsApiConfigSpec } from '@tidemark/ops-api';

describe('README', () => {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');

  it('has the configuration reference the config schemas generate (node tools/config-reference.mjs)', () => {
    const specs = [
      ['gateway', gatewayConfigSpec],
      ['journal-service', journalServiceConfigSpec],
      ['merge-service', mergeServiceConfigSpec],
      ['asset-service', assetServiceConfigSpec],
      ['ops-api', opsApiConfigSpec],
    ] as const;
    for (const [app, spec] of specs) {
      const section = `### ${app}\n\n${describeConfig(spec as never)}\n`;
      assert.ok(readme.includes(section), `README section for ${app} is stale: run node tools/config-reference.mjs`);
    }
  });

  it('has a two-command quick start', () => {
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Architecture'));
    assert.match(quick, /npm start/);
    assert.match(quick, /npm test/);
  });
});
