#!/usr/bin/env node
// Writes infra/monitoring/kubernetes/component/prometheusrule.yaml, the Prometheus operator's PrometheusRule
// holding exactly the groups of infra/monitoring/prometheus/tidemark.rules.yml. Run it after editing the
// rules file; `--check` exits 1 when the generated file is out of date (the deployment tests check it too).
//   node tools/prometheus-rule.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RULES = 'infra/monitoring/prometheus/tidemark.rules.yml';
const OUTPUT = 'infra/monitoring/kubernetes/component/prometheusrule.yaml';

function prometheusRule(rulesText) {
  const { groups } = parse(rulesText);
  const resource = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'tidemark', labels: { 'app.kubernetes.io/part-of': 'tidemark' } },
    spec: { groups },
  };
  return `# Generated from ${RULES} by \`node tools/prometheus-rule.mjs\`: edit that file, not this one.\n${stringify(resource, { lineWidth: 0 })}`;
}

const generated = prometheusRule(readFileSync(join(root, RULES), 'utf8'));
if (process.argv.includes('--check')) {
  const current = readFileSync(join(root, OUTPUT), 'utf8');
  if (current !== generated) {
    console.error(`${OUTPUT} is out of date: run node tools/prometheus-rule.mjs`);
    process.exit(1);
  }
} else {
  writeFileSync(join(root, OUTPUT), generated);
  console.log(`wrote ${OUTPUT}`);
}
